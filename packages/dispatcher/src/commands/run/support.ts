/**
 * What the remote-execution modes (run, ping, status, wait) share: the CLI auth check, the
 * engine built from the context, the unknown-agent hint and the TTY progress line.
 */
import {
  authAuditEvent,
  authHookTimeoutEvent,
  authorize,
  CtrlExecError,
  parseTagFilter,
  UsageError,
  type AuthContext,
  type AuthDecision,
  type HeldLocks,
} from '@ctrl-exec/core';
import type { Context } from '../../cli/context.js';
import { join } from 'node:path';
import { createDispatcher, selectByTags, TLS_SESSIONS_FILE, type Dispatcher, type ResolvedHost } from '../../engine/index.js';
import { registryOf } from '../../cli/state.js';

export interface CliCredentials {
  username: string;
  token: string;
}

/** `--username` (default $USER) and `--token` (default $ENVEXEC_TOKEN); the token is never logged. */
export function credentials(ctx: Context, opts: Record<string, unknown>): CliCredentials {
  const username = typeof opts.username === 'string' ? opts.username : (ctx.io.env.USER ?? '');
  const token = typeof opts.token === 'string' ? opts.token : (ctx.io.env.ENVEXEC_TOKEN ?? '');
  if (token !== '') ctx.audit().addSecret(token);
  return { username, token };
}

/**
 * Run the dispatcher's auth hook for a CLI action (caller `cli`, source 127.0.0.1) and log
 * the `auth` line. Returns the exit code to end with when denied, else undefined.
 */
export async function authorizeCli(
  ctx: Context,
  request: { action: 'run' | 'ping'; script?: string; hosts: string[]; args?: string[] } & CliCredentials,
): Promise<number | undefined> {
  const config = ctx.config();
  const context: AuthContext = {
    action: request.action,
    script: request.script ?? '',
    hosts: request.hosts,
    args: request.args ?? [],
    username: request.username,
    token: request.token,
    source_ip: '127.0.0.1',
    dispatcher: '',
    dispatcher_serial: '',
    submitter: null,
  };
  const decision: AuthDecision = await authorize({
    ...(config.authHook !== undefined ? { hook: config.authHook } : {}),
    timeoutMs: config.authHookTimeout * 1000,
    caller: 'cli',
    apiAuthDefault: config.apiAuthDefault,
    context,
  });
  if (decision.kind === 'timeout') ctx.log(authHookTimeoutEvent(config.authHookTimeout * 1000));
  ctx.log({ ...authAuditEvent(decision, context, config.authHook !== undefined ? { hook: config.authHook } : {}) });
  if (decision.allowed) return undefined;
  if (ctx.json) ctx.printJson({ ok: 0, error: decision.reason, code: decision.code });
  else ctx.err(`Denied: ${decision.reason}`);
  return 1;
}

/**
 * The engine, auditing through the context, resuming the TLS sessions of earlier commands
 * (`<state_dir>/tls-sessions.json`). Close it when done: that saves the sessions.
 */
/** The engine for a CLI command; `minReadTimeout` (seconds) raises read_timeout for long operations such as scans. */
export function dispatcherFor(ctx: Context, options: { minReadTimeout?: number } = {}): Dispatcher {
  const config = ctx.config();
  const readTimeout = Math.max(config.readTimeout, options.minReadTimeout ?? 0);
  return createDispatcher({ config: { ...config, readTimeout }, audit: (event) => ctx.log(event), sessionFile: join(config.paths.stateDir, TLS_SESSIONS_FILE) });
}

/**
 * The hosts of a command: those named, plus (`--tags k=v[,k2=v2]`) every registered agent
 * whose cached tags match. Refuses an empty selection with the reason.
 */
export function hostRefs(ctx: Context, named: readonly string[], tags: unknown): string[] {
  if (typeof tags !== 'string') return [...named];
  let filter: Record<string, string>;
  try {
    filter = parseTagFilter(tags);
  } catch (err) {
    throw new UsageError(`Invalid --tags filter: ${(err as Error).message}`);
  }
  const selected = selectByTags(registryOf(ctx.config()), filter);
  if (selected.length === 0 && named.length === 0) {
    throw new UsageError(`No registered agent has the tags ${tags} (tags are cached by 'ctrl-exec discover')`);
  }
  return [...new Set([...named, ...selected])];
}

/** Resolve host references; an unknown agent also says, in text mode, where to look. */
export function resolveForCli(ctx: Context, dispatcher: Dispatcher, refs: readonly string[]): ResolvedHost[] {
  try {
    return dispatcher.resolve(refs);
  } catch (err) {
    throw withAgentHint(ctx, err);
  }
}

/**
 * Resolve the hosts and take the `host:script` locks for the whole dispatch. Returns the exit
 * code to end with when another run holds a lock (reported as upstream does).
 */
export function lockForCli(ctx: Context, dispatcher: Dispatcher, refs: readonly string[], script: string): { hosts: ResolvedHost[]; locks: HeldLocks } | number {
  const hosts = resolveForCli(ctx, dispatcher, refs);
  try {
    return { hosts, locks: dispatcher.lock(hosts, script) };
  } catch (err) {
    if (err instanceof CtrlExecError && err.code === 'CE_ERR_LOCKED') return reportLocked(ctx, err);
    throw err;
  }
}

/** In text mode, an unknown agent also says where to look. */
export function withAgentHint(ctx: Context, err: unknown): unknown {
  if (!ctx.json && err instanceof CtrlExecError && err.code === 'CE_ERR_UNKNOWN_AGENT') {
    return new CtrlExecError(err.code, `${err.message}\nRun 'ctrl-exec list-agents' to see registered agents.`, {
      cause: err,
      details: err.details,
    });
  }
  return err;
}

/** Print the lock conflict the way upstream does; returns the exit code. */
export function reportLocked(ctx: Context, err: CtrlExecError): number {
  const conflicts = Array.isArray(err.details.conflicts) ? (err.details.conflicts as string[]) : [];
  if (ctx.json) ctx.printJson({ ok: 0, error: 'locked', code: 4, conflicts });
  else ctx.err(`Locked: already running: ${conflicts.join(', ')}`);
  return 1;
}

/**
 * `[n/N] done, k failed` on stderr while hosts are outstanding, then `N ok, N failed in X.Xs`.
 * Only on a terminal, and only for more than one host.
 */
export class Progress {
  readonly #stream: NodeJS.WritableStream;
  readonly #total: number;
  readonly #enabled: boolean;
  readonly #started = Date.now();
  #done = 0;
  #failed = 0;

  constructor(stream: NodeJS.WritableStream, total: number) {
    this.#stream = stream;
    this.#total = total;
    this.#enabled = (stream as { isTTY?: boolean }).isTTY === true && total > 1;
    if (this.#enabled) this.#draw();
  }

  hostDone(failed: boolean): void {
    this.#done++;
    if (failed) this.#failed++;
    if (this.#enabled) this.#draw();
  }

  finish(): void {
    if (!this.#enabled) return;
    const seconds = ((Date.now() - this.#started) / 1000).toFixed(1);
    this.#stream.write(`\r\x1b[K${this.#done - this.#failed} ok, ${this.#failed} failed in ${seconds}s\n`);
  }

  #draw(): void {
    this.#stream.write(`\r[${this.#done}/${this.#total}] done, ${this.#failed} failed`);
  }
}

/** Split a mode's arguments at the `--` the CLI framework puts before script arguments. */
export function splitPassthrough(args: readonly string[]): { positional: string[]; passthrough: string[] } {
  const at = args.indexOf('--');
  return at === -1 ? { positional: [...args], passthrough: [] } : { positional: args.slice(0, at), passthrough: args.slice(at + 1) };
}
