/**
 * Test fixtures for the agent server: a throwaway CA with agent, dispatcher and stranger
 * certificates, an agent installation in a temp dir, the real `serve` process, and an
 * mTLS client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import tls from 'node:tls';
import {
  DISPATCHER_COMMON_NAME,
  createCa,
  createCsr,
  generateRsaKey,
  issueCertificate,
  loadCa,
  type LoadedCa,
} from '@ctrl-exec/core';
import { AGENT_BIN, AGENT_NAME, closedPort, readAudit } from '../testing/agent-fixture.js';

export { readAudit, AGENT_NAME };

export interface Identity {
  cert: string;
  key: string;
  serial: string;
}

export interface TestPki {
  ca: LoadedCa;
  agent: Identity;
  /** Trusted as `dispatcher01`. */
  dispatcher: Identity;
  /** Trusted as `dispatcher02`. */
  dispatcher2: Identity;
  /** Signed by the CA, trusted by nobody. */
  stranger: Identity;
  /** Signed by the CA, listed in revoked-serials (and trusted as `revoked-disp`). */
  revoked: Identity;
  /** From another CA entirely. */
  foreign: Identity;
}

async function identity(ca: LoadedCa, cn: string): Promise<Identity> {
  const key = await generateRsaKey(2048);
  const issued = issueCertificate(ca, createCsr(key, cn), { days: 30 });
  return { cert: issued.certPem, key, serial: issued.serial };
}

let pkiPromise: Promise<TestPki> | undefined;

/** One PKI per test process (2048-bit keys), removed when the process exits. */
export function testPki(): Promise<TestPki> {
  pkiPromise ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cea-pki-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    await createCa({ dir: join(dir, 'ca'), keyBits: 2048 });
    await createCa({ dir: join(dir, 'other'), keyBits: 2048 });
    const ca = loadCa(join(dir, 'ca'));
    const other = loadCa(join(dir, 'other'));
    const [agent, dispatcher, dispatcher2, stranger, revoked, foreign] = await Promise.all([
      identity(ca, AGENT_NAME),
      identity(ca, DISPATCHER_COMMON_NAME),
      identity(ca, DISPATCHER_COMMON_NAME),
      identity(ca, 'stranger.test.example'),
      identity(ca, DISPATCHER_COMMON_NAME),
      identity(other, DISPATCHER_COMMON_NAME),
    ]);
    return { ca, agent: agent!, dispatcher: dispatcher!, dispatcher2: dispatcher2!, stranger: stranger!, revoked: revoked!, foreign: foreign! };
  })();
  return pkiPromise;
}

export interface ServeEnv {
  root: string;
  conf: string;
  scriptsConf: string;
  scriptsDir: string;
  runsDir: string;
  stateDir: string;
  certDir: string;
  audit: string;
  trustedMap: string;
  revoked: string;
  port: number;
  pki: TestPki;
  /** Write a script into scriptsDir (mode 0755) and return its path. */
  script(name: string, body: string): string;
  /** Rewrite agent.conf with these extra lines. */
  writeConf(extra?: Record<string, string>, sections?: string): void;
  writeScripts(lines: string[]): void;
}

export interface ServeEnvOptions {
  extra?: Record<string, string>;
  /** Text appended after the top-level keys (sections). Default: `[profile default]`. */
  sections?: string;
  scripts?: string[];
}

export const DEFAULT_SECTIONS = '[profile default]\nrun_as = nobody\n\n[tags]\nenv = test\nrole = web\n';

export async function makeServeEnv(t: TestContext, options: ServeEnvOptions = {}): Promise<ServeEnv> {
  const pki = await testPki();
  const root = mkdtempSync(join(tmpdir(), 'cea-serve-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const certDir = join(root, 'etc');
  const stateDir = join(root, 'var');
  const scriptsDir = join(root, 'scripts');
  for (const d of [certDir, stateDir, scriptsDir]) mkdirSync(d, { recursive: true });
  chmodSync(root, 0o755);
  chmodSync(scriptsDir, 0o755);
  writeFileSync(join(certDir, 'agent.crt'), pki.agent.cert);
  writeFileSync(join(certDir, 'agent.key'), pki.agent.key, { mode: 0o600 });
  writeFileSync(join(certDir, 'ca.crt'), pki.ca.certPem);
  const trustedMap = join(stateDir, 'ctrl-exec-dispatchers');
  writeFileSync(
    trustedMap,
    `# test map\n${pki.dispatcher.serial} dispatcher01\n${pki.dispatcher2.serial} dispatcher02\n${pki.revoked.serial} revoked-disp\n`,
  );
  const revoked = join(certDir, 'revoked-serials');
  writeFileSync(revoked, `# revoked\n${pki.revoked.serial.toUpperCase()}\n`);
  const port = await closedPort();
  const env: ServeEnv = {
    root,
    conf: join(root, 'agent.conf'),
    scriptsConf: join(certDir, 'scripts.conf'),
    scriptsDir,
    runsDir: join(stateDir, 'runs'),
    stateDir,
    certDir,
    audit: join(root, 'audit.jsonl'),
    trustedMap,
    revoked,
    port,
    pki,
    script(name, body) {
      const p = join(scriptsDir, name);
      writeFileSync(p, body, { mode: 0o755 });
      chmodSync(p, 0o755);
      return p;
    },
    writeConf(extra = {}, sections = DEFAULT_SECTIONS) {
      const values: Record<string, string> = {
        port: String(env.port),
        bind: '127.0.0.1',
        cert: join(certDir, 'agent.crt'),
        key: join(certDir, 'agent.key'),
        ca: join(certDir, 'ca.crt'),
        ca_dir: certDir,
        state_dir: stateDir,
        hostname: AGENT_NAME,
        syslog: 'none',
        log_json: env.audit,
        ...extra,
      };
      writeFileSync(env.conf, `# test agent.conf\n${Object.entries(values).map(([k, v]) => `${k} = ${v}`).join('\n')}\n\n${sections}`);
    },
    writeScripts(lines) {
      writeFileSync(env.scriptsConf, `# test allowlist\n${lines.join('\n')}\n`);
    },
  };
  env.writeConf(options.extra, options.sections);
  env.writeScripts(options.scripts ?? []);
  return env;
}

export interface RunningAgent {
  proc: ChildProcess;
  port: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  args?: string[];
  timeoutMs?: number;
}

/** Spawn `serve` on env.conf and wait for its `listening` line. */
export async function startAgent(t: TestContext, env: ServeEnv, options: StartOptions = {}): Promise<RunningAgent> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete childEnv.CTRL_EXEC_AGENT_CONFIG;
  const proc = spawn(process.execPath, [AGENT_BIN, 'serve', '--config', env.conf, ...(options.args ?? [])], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  t.after(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
  });
  const listening = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent did not start: ${err}`)), options.timeoutMs ?? 15_000);
    proc.stdout!.on('data', (d: string) => {
      out += d;
      const m = /listening on [^\s]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.stderr!.on('data', (d: string) => (err += d));
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`agent exited (${code}) before listening: ${err}`));
    });
  });
  const port = await listening;
  return {
    proc,
    port,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

export interface Response {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
}

export interface RequestOptions {
  method?: string;
  path: string;
  body?: unknown;
  /** Raw body bytes instead of JSON. */
  rawBody?: Buffer | string;
  identity?: Identity | null;
  /** Source address (any 127.x.y.z). */
  localAddress?: string;
  headers?: Record<string, string | number>;
  agent?: https.Agent | false;
  timeoutMs?: number;
}

/** One mTLS request to the agent (a new connection unless `agent` pools them). */
export function request(port: number, ca: string, options: RequestOptions): Promise<Response> {
  const payload =
    options.rawBody !== undefined
      ? Buffer.from(options.rawBody)
      : options.body === undefined
        ? Buffer.alloc(0)
        : Buffer.from(JSON.stringify(options.body), 'utf8');
  const id = options.identity;
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port,
      method: options.method ?? 'POST',
      path: options.path,
      ca,
      ...(id ? { cert: id.cert, key: id.key } : {}),
      checkServerIdentity: () => undefined,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      agent: options.agent ?? false,
      timeout: options.timeoutMs ?? 30_000,
      headers: {
        ...(payload.length > 0 || options.method !== 'GET' ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}),
        ...options.headers,
      },
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          body = {};
        }
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers, raw });
      });
    });
    req.end(payload);
  });
}

/** A raw TLS exchange: write `data`, read until the server closes. */
export function rawExchange(port: number, ca: string, identity: Identity, data: string | Buffer, localAddress?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca,
      cert: identity.cert,
      key: identity.key,
      checkServerIdentity: () => undefined,
      ...(localAddress ? { localAddress } : {}),
    });
    let out = '';
    socket.setEncoding('utf8');
    socket.on('secureConnect', () => socket.write(data));
    socket.on('data', (d: string) => (out += d));
    socket.on('error', reject);
    socket.on('close', () => resolve(out));
    socket.setTimeout(15_000, () => socket.destroy(new Error('raw exchange timed out')));
  });
}

/** Poll the audit file for a matching record. */
export async function waitForAudit(
  path: string,
  match: (r: Record<string, unknown>) => boolean,
  timeoutMs = 10_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = readAudit(path).find(match);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error('timed out waiting for an audit record');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
