/**
 * The fan-out engine: one operation (run, async submit, ping, capabilities, result fetch)
 * sent to many agents at once, at most `max_parallel` in flight, with one reqid shared by
 * every host. Per-host results have upstream's shapes (wire-protocol §1.6) and come back
 * in the order the hosts were given; failures are results, never exceptions. Each host
 * gets its audit line (§10.2) and a diagnostics_channel message.
 *
 * This is the dispatcher's library API: the CLI modes and the HTTP API both drive it.
 */
import {
  acquireLocks,
  ASYNC_REQID,
  CtrlExecError,
  newReqid,
  Registry,
  SCRIPT_NAME,
  toCtrlExecError,
  type AuditEvent,
  type DispatcherConfig,
  type HeldLocks,
  type LockPair,
} from '@ctrl-exec/core';
import { performance } from 'node:perf_hooks';
import { AgentClient, AgentRequestError, type AgentReply, type PoolStats } from './agent-client.js';
import { publishFinish, publishHost, publishStart, type DispatchOp } from './events.js';
import { mapLimit } from './pool.js';
import { checkHostCount, parseHostRef, resolveHosts, type ResolvedHost } from './targets.js';

/** One host's result. `host` is the registry name, `rtt` is `"<n>ms"`. */
export interface HostResult {
  host: string;
  rtt: string;
  [field: string]: unknown;
}

export interface DispatchOutcome {
  reqid: string;
  results: HostResult[];
}

/** Hosts as references (`name`, `name:port`) or already resolved. */
export type HostsInput = readonly string[] | readonly ResolvedHost[];

export interface DispatchCommon {
  hosts: HostsInput;
  /** Default: a new 16-hex-digit reqid. */
  reqid?: string;
  /** Called as each host finishes (index into `hosts`). */
  onResult?: (result: HostResult, index: number) => void;
}

export interface RunOptions extends DispatchCommon {
  script: string;
  args?: readonly string[];
  username?: string;
  /** Sent to the agent; never logged. */
  token?: string;
}

export interface DispatcherOptions {
  config: Pick<DispatcherConfig, 'cert' | 'key' | 'ca' | 'readTimeout' | 'maxParallel' | 'paths'> & Partial<Pick<DispatcherConfig, 'agentKeepAlive'>>;
  /** Audit sink (e.g. AuditLogger.log). Default: nothing is logged. */
  audit?: (event: AuditEvent) => void;
  /** Default: the registry at config.paths.registryDir. */
  registry?: Registry;
  /** Default: built from config cert/key/ca on first use. */
  client?: AgentClient;
  /** Connections kept per agent. Default 8. */
  maxSocketsPerHost?: number;
  /** Keep TLS sessions in this file across processes (the CLI: `<state_dir>/tls-sessions.json`). */
  sessionFile?: string;
}

export interface Dispatcher {
  readonly registry: Registry;
  /** The agent client (created from the config files on first use). */
  client(): AgentClient;
  /** The agent connection pool right now (all zero before the first request). */
  poolStats(): PoolStats;
  /** Resolve references (CE_ERR_USAGE for none or > 500, CE_ERR_UNKNOWN_AGENT). */
  resolve(refs: readonly string[]): ResolvedHost[];
  /** Take the dispatch locks of `host:script` for every host, all or none (CE_ERR_LOCKED). */
  lock(hosts: HostsInput, script: string): HeldLocks;
  run(options: RunOptions): Promise<DispatchOutcome>;
  runAsync(options: RunOptions): Promise<DispatchOutcome>;
  ping(options: DispatchCommon): Promise<DispatchOutcome>;
  capabilities(options: DispatchCommon): Promise<DispatchOutcome>;
  /** GET /result/<reqid> from each host (reqid required). */
  fetchResults(options: DispatchCommon & { reqid: string }): Promise<DispatchOutcome>;
  /** Close pooled connections. */
  close(): void;
}

export const DEFAULT_MAX_PARALLEL = 64;
const REQID_MAX = 64;

export function formatRtt(ms: number): string {
  return `${Math.max(0, Math.round(ms))}ms`;
}

/** The script name rule shared by the CLI, the API and the agent. */
export function checkScriptName(script: unknown): asserts script is string {
  if (typeof script !== 'string' || !SCRIPT_NAME.test(script)) {
    throw new CtrlExecError('CE_ERR_USAGE', 'script name required (alphanumeric and hyphens only)', { details: { script } });
  }
}

function checkArgs(args: unknown): string[] {
  if (args === undefined) return [];
  if (!Array.isArray(args)) throw new CtrlExecError('CE_ERR_USAGE', 'args must be an array');
  if (!args.every((a) => typeof a === 'string')) throw new CtrlExecError('CE_ERR_USAGE', 'args must be an array of strings');
  return args as string[];
}

function checkReqid(reqid: string | undefined): string {
  if (reqid === undefined) return newReqid();
  if (typeof reqid !== 'string' || reqid.length > REQID_MAX || !ASYNC_REQID.test(reqid)) {
    throw new CtrlExecError('CE_ERR_BAD_REQUEST', 'invalid reqid', { details: { reqid } });
  }
  return reqid;
}

function withoutHost(body: Record<string, unknown>): Record<string, unknown> {
  const { host: _host, ...rest } = body;
  return rest;
}

function asAgentError(err: unknown): AgentRequestError {
  if (err instanceof AgentRequestError) return err;
  const e = toCtrlExecError(err);
  return new AgentRequestError(e.code, 'other', e.message, 0, { cause: err });
}

function isResolvedHost(h: unknown): h is ResolvedHost {
  return typeof h === 'object' && h !== null && typeof (h as ResolvedHost).address === 'string' && typeof (h as ResolvedHost).name === 'string';
}

function stringOr(v: unknown, fallback: string): string {
  return typeof v === 'string' && v !== '' ? v : fallback;
}

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { config } = options;
  const registry = options.registry ?? new Registry(config.paths.registryDir);
  const audit = options.audit ?? (() => undefined);
  const maxParallel = Number.isInteger(config.maxParallel) && config.maxParallel > 0 ? config.maxParallel : DEFAULT_MAX_PARALLEL;
  let client = options.client;

  const getClient = (): AgentClient => {
    client ??= AgentClient.fromFiles(
      { cert: config.cert, key: config.key, ca: config.ca },
      {
        readTimeout: config.readTimeout,
        keepAlive: config.agentKeepAlive !== false,
        ...(options.maxSocketsPerHost ? { maxSocketsPerHost: options.maxSocketsPerHost } : {}),
        ...(options.sessionFile ? { sessionFile: options.sessionFile } : {}),
      },
    );
    return client;
  };

  const resolvedOf = (hosts: HostsInput): ResolvedHost[] => {
    if (!Array.isArray(hosts)) throw new CtrlExecError('CE_ERR_USAGE', 'hosts must be a non-empty array');
    const list = hosts as ReadonlyArray<unknown>;
    if (list.length > 0 && list.every(isResolvedHost)) {
      checkHostCount(list);
      return list.slice() as ResolvedHost[];
    }
    if (list.every((h) => typeof h === 'string')) return resolveHosts(registry, list as string[]);
    throw new CtrlExecError('CE_ERR_USAGE', 'hosts must be a non-empty array of host names');
  };

  /** Fan out `one` over the hosts with the engine's bookkeeping around it. */
  async function fanOut(
    op: DispatchOp,
    hosts: ResolvedHost[],
    reqid: string,
    script: string | undefined,
    onResult: DispatchCommon['onResult'],
    one: (host: ResolvedHost) => Promise<{ result: HostResult; ok: boolean; rttMs: number; code?: string }>,
  ): Promise<HostResult[]> {
    const started = performance.now();
    publishStart({ reqid, op, ...(script !== undefined ? { script } : {}), hosts: hosts.length });
    let failed = 0;
    const results = await mapLimit(hosts, maxParallel, async (host, index) => {
      let outcome: { result: HostResult; ok: boolean; rttMs: number; code?: string };
      try {
        outcome = await one(host);
      } catch (err) {
        // one() reports failures as results; this is a bug guard, not a code path.
        const e = asAgentError(err);
        outcome = { result: { host: host.name, status: 'error', error: e.message, rtt: formatRtt(0) }, ok: false, rttMs: 0, code: e.code };
      }
      if (!outcome.ok) failed++;
      publishHost({
        reqid,
        op,
        ...(script !== undefined ? { script } : {}),
        host: host.name,
        target: host.target,
        ok: outcome.ok,
        rttMs: outcome.rttMs,
        ...(outcome.code ? { code: outcome.code } : {}),
      });
      try {
        onResult?.(outcome.result, index);
      } catch {
        /* a progress display must not break the dispatch */
      }
      return outcome.result;
    });
    publishFinish({ reqid, op, ...(script !== undefined ? { script } : {}), hosts: hosts.length, failed, durationMs: performance.now() - started });
    return results;
  }

  function runBody(opts: RunOptions, reqid: string, isAsync: boolean): Record<string, unknown> {
    const body: Record<string, unknown> = {
      script: opts.script,
      args: checkArgs(opts.args),
      reqid,
      username: typeof opts.username === 'string' ? opts.username : '',
      token: typeof opts.token === 'string' ? opts.token : '',
    };
    if (isAsync) body.async = true;
    return body;
  }

  function prepareRun(opts: RunOptions, mode: 'sync' | 'async'): { hosts: ResolvedHost[]; reqid: string; body: Record<string, unknown>; agents: AgentClient } {
    checkScriptName(opts.script);
    const reqid = checkReqid(opts.reqid);
    const body = runBody(opts, reqid, mode === 'async');
    const hosts = resolvedOf(opts.hosts);
    const agents = getClient();
    audit({ action: 'dispatch', hosts: hosts.map((h) => h.ref).join(','), mode, reqid, script: opts.script });
    return { hosts, reqid, body, agents };
  }

  return {
    registry,
    client: getClient,
    poolStats: () => client?.poolStats() ?? { open: 0, idle: 0, queued: 0 },

    resolve(refs) {
      return resolveHosts(registry, refs);
    },

    lock(hosts, script) {
      checkScriptName(script);
      const pairs: LockPair[] = (hosts as ReadonlyArray<string | ResolvedHost>).map((h) => ({
        host: typeof h === 'string' ? parseHostRef(h).name : h.name,
        script,
      }));
      let held: HeldLocks;
      try {
        held = acquireLocks(config.paths.locksDir, pairs);
      } catch (err) {
        if (err instanceof CtrlExecError && err.code === 'CE_ERR_LOCKED') {
          audit({ action: 'lock-conflict', conflicts: (err.details.conflicts as string[] | undefined)?.join(',') ?? '', level: 'warning' });
        }
        throw err;
      }
      for (const p of held.pairs) audit({ action: 'lock-acquire', host: p.host, script: p.script });
      return {
        pairs: held.pairs,
        release() {
          const wasHeld = held.pairs.length > 0;
          held.release();
          if (wasHeld) {
            audit({ action: 'lock-release', hosts: held.pairs.map((p) => p.host).join(','), script });
            held = { pairs: [], release: () => undefined };
          }
        },
      };
    },

    async run(opts) {
      const { hosts, reqid, body, agents } = prepareRun(opts, 'sync');
      const script = opts.script;
      const results = await fanOut('run', hosts, reqid, script, opts.onResult, async (host) => {
        try {
          const reply = await agents.call(host, 'POST', '/run', body);
          const rtt = formatRtt(reply.rttMs);
          const result: HostResult = { host: host.name, ...withoutHost(reply.body), rtt };
          if (result.reqid === undefined || result.reqid === '') result.reqid = reqid;
          audit({ action: 'run', exit: result.exit, reqid, rtt, script, target: host.target });
          return { result, ok: result.exit === 0, rttMs: reply.rttMs };
        } catch (err) {
          const e = asAgentError(err);
          const rtt = formatRtt(e.rttMs);
          audit({ action: 'run', error: e.message, reqid, rtt, script, target: host.target, level: 'err' });
          return { result: { host: host.name, script, exit: -1, error: e.message, rtt, reqid }, ok: false, rttMs: e.rttMs, code: e.code };
        }
      });
      return { reqid, results };
    },

    async runAsync(opts) {
      const { hosts, reqid, body, agents } = prepareRun(opts, 'async');
      const script = opts.script;
      const results = await fanOut('run-async', hosts, reqid, script, opts.onResult, async (host) => {
        let reply: AgentReply;
        try {
          reply = await agents.call(host, 'POST', '/run', body, [409]);
        } catch (err) {
          const e = asAgentError(err);
          const rtt = formatRtt(e.rttMs);
          audit({ action: 'run-async', error: e.message, reqid, rtt, script, target: host.target, level: 'err' });
          return { result: { host: host.name, script, status: 'error', error: e.message, rtt, reqid }, ok: false, rttMs: e.rttMs, code: e.code };
        }
        const rtt = formatRtt(reply.rttMs);
        if (reply.status === 409) {
          const error = stringOr(reply.body.error, 'script already running');
          audit({ action: 'run-async', reqid, rtt, script, status: 'busy', target: host.target, level: 'warning' });
          return { result: { host: host.name, script, status: 'busy', error, rtt, reqid }, ok: false, rttMs: reply.rttMs, code: 'CE_ERR_LOCKED' };
        }
        if (reply.body.status === 'accepted') {
          const result: HostResult = { host: host.name, ...withoutHost(reply.body), rtt };
          if (result.reqid === undefined || result.reqid === '') result.reqid = reqid;
          audit({ action: 'run-async', reqid, rtt, script, status: 'accepted', target: host.target });
          return { result, ok: true, rttMs: reply.rttMs };
        }
        const error = stringOr(reply.body.error, `unexpected response (HTTP ${reply.status})`);
        audit({ action: 'run-async', error, reqid, rtt, script, target: host.target, level: 'err' });
        return { result: { host: host.name, script, status: 'error', error, rtt, reqid }, ok: false, rttMs: reply.rttMs, code: 'CE_ERR_PROTOCOL' };
      });
      return { reqid, results };
    },

    async ping(opts) {
      const reqid = checkReqid(opts.reqid);
      const hosts = resolvedOf(opts.hosts);
      const agents = getClient();
      const results = await fanOut('ping', hosts, reqid, undefined, opts.onResult, async (host) => {
        try {
          const reply = await agents.call(host, 'POST', '/ping', { reqid });
          const rtt = formatRtt(reply.rttMs);
          const result: HostResult = { host: host.name, ...withoutHost(reply.body), rtt };
          const reported = reply.body.host;
          if (typeof reported === 'string' && reported !== '' && reported !== host.name) result.reported_hostname = reported;
          const ok = reply.body.status === 'ok';
          audit({ action: 'ping', reqid, result: stringOr(reply.body.status, 'unknown'), rtt, target: host.target, ...(ok ? {} : { level: 'err' }) });
          return { result, ok, rttMs: reply.rttMs, ...(ok ? {} : { code: 'CE_ERR_PROTOCOL' }) };
        } catch (err) {
          const e = asAgentError(err);
          const rtt = formatRtt(e.rttMs);
          audit({ action: 'ping', error: e.message, reqid, rtt, target: host.target, level: 'err' });
          return { result: { host: host.name, status: 'error', error: e.message, rtt }, ok: false, rttMs: e.rttMs, code: e.code };
        }
      });
      return { reqid, results };
    },

    async capabilities(opts) {
      const reqid = checkReqid(opts.reqid);
      const hosts = resolvedOf(opts.hosts);
      const agents = getClient();
      const results = await fanOut('capabilities', hosts, reqid, undefined, opts.onResult, async (host) => {
        try {
          const reply = await agents.call(host, 'GET', '/capabilities');
          const rtt = formatRtt(reply.rttMs);
          const result: HostResult = { host: host.name, ...withoutHost(reply.body), rtt };
          const reported = reply.body.host;
          if (typeof reported === 'string' && reported !== '' && reported !== host.name) result.reported_hostname = reported;
          const scripts = Array.isArray(reply.body.scripts) ? reply.body.scripts.length : 0;
          audit({ action: 'capabilities', rtt, scripts, target: host.target });
          return { result, ok: reply.body.status === 'ok', rttMs: reply.rttMs };
        } catch (err) {
          const e = asAgentError(err);
          const rtt = formatRtt(e.rttMs);
          audit({ action: 'capabilities', error: e.message, rtt, target: host.target, level: 'err' });
          return { result: { host: host.name, status: 'error', error: e.message, rtt }, ok: false, rttMs: e.rttMs, code: e.code };
        }
      });
      return { reqid, results };
    },

    async fetchResults(opts) {
      const reqid = opts.reqid;
      if (typeof reqid !== 'string' || reqid.length > REQID_MAX || !ASYNC_REQID.test(reqid)) {
        throw new CtrlExecError('CE_ERR_BAD_REQUEST', 'invalid reqid', { details: { reqid } });
      }
      const hosts = resolvedOf(opts.hosts);
      const agents = getClient();
      const results = await fanOut('result', hosts, reqid, undefined, opts.onResult, async (host) => {
        try {
          const reply = await agents.call(host, 'GET', `/result/${reqid}`, undefined, [404]);
          const rtt = formatRtt(reply.rttMs);
          if (reply.status === 404) {
            audit({ action: 'result', reqid, rtt, status: 'unknown', target: host.target });
            return { result: { host: host.name, status: 'unknown', reqid, rtt }, ok: true, rttMs: reply.rttMs };
          }
          const result: HostResult = { host: host.name, ...withoutHost(reply.body), rtt };
          if (result.reqid === undefined || result.reqid === '') result.reqid = reqid;
          audit({ action: 'result', reqid, rtt, status: stringOr(reply.body.status, 'unknown'), target: host.target });
          return { result, ok: true, rttMs: reply.rttMs };
        } catch (err) {
          const e = asAgentError(err);
          const rtt = formatRtt(e.rttMs);
          audit({ action: 'result', error: e.message, reqid, rtt, target: host.target, level: 'err' });
          return { result: { host: host.name, status: 'error', error: e.message, reqid, rtt }, ok: false, rttMs: e.rttMs, code: e.code };
        }
      });
      return { reqid, results };
    },

    close() {
      client?.close();
    },
  };
}
