/**
 * Test fixtures of the API: a throwaway dispatcher installation (CA, dispatcher
 * certificate, ctrl-exec.conf, state dir, JSON audit file), auth hooks, real agents
 * (`ctrl-exec-agent serve`) paired with it, and the real API binary. Not part of the
 * public API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadApiConfig } from '../app/config.js';
import {
  createCa,
  createCsr,
  createDispatcherCert,
  generateRsaKey,
  isoUtc,
  issueCertificate,
  loadCa,
  Registry,
  RunStore,
  type DispatcherConfig,
  type LoadedCa,
} from '@ctrl-exec/core';

export const API_BIN = fileURLToPath(new URL('../bin/ctrl-exec-api.js', import.meta.url));
export const AGENT_BIN = fileURLToPath(new URL('../../../agent/dist/bin/ctrl-exec-agent.js', import.meta.url));
export const CLI_BIN = fileURLToPath(new URL('../../../dispatcher/dist/bin/ctrl-exec.js', import.meta.url));

export interface Teardown {
  after(fn: () => void | Promise<void>): void;
}

/**
 * A temp dir removed after the test, once everything registered with `own` has been
 * stopped (node runs `after` hooks in the order they were added, and one that fails
 * skips the rest: processes must never be left running because a removal failed).
 */
export function tempDir(t: Teardown, prefix = 'ce-api-'): { dir: string; own(stop: () => unknown): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // Readable by every user: agents and scripts may run as someone else when the tests run as root.
  chmodSync(dir, 0o755);
  const stops: Array<() => unknown> = [];
  t.after(async () => {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch {
        /* keep stopping the others */
      }
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  });
  return { dir, own: (stop) => stops.push(stop) };
}

export interface TestPki {
  ca: LoadedCa;
  caDir: string;
  caCertPath: string;
  certPath: string;
  keyPath: string;
  /** Serial of the dispatcher certificate (what agents trust). */
  dispatcherSerial: string;
  issue(cn: string): Promise<{ key: string; cert: string }>;
}

let pkiPromise: Promise<TestPki> | undefined;

/** One CA and dispatcher certificate per test process (2048-bit keys), removed at exit. */
export function testPki(): Promise<TestPki> {
  pkiPromise ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ce-api-pki-'));
    chmodSync(dir, 0o755);
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    const caDir = join(dir, 'etc');
    await createCa({ dir: caDir, keyBits: 2048 });
    const ca = loadCa(caDir);
    const certPath = join(caDir, 'dispatcher.crt');
    const keyPath = join(caDir, 'dispatcher.key');
    const issued = await createDispatcherCert({ ca, certPath, keyPath, keyBits: 2048 });
    return {
      ca,
      caDir,
      caCertPath: join(caDir, 'ca.crt'),
      certPath,
      keyPath,
      dispatcherSerial: issued.serial,
      async issue(cn: string) {
        const key = await generateRsaKey(2048);
        const { certPem } = issueCertificate(ca, createCsr(key, cn), { days: 30 });
        return { key, cert: certPem };
      },
    };
  })();
  return pkiPromise;
}

export interface ApiEnv {
  dir: string;
  pki: TestPki;
  configPath: string;
  stateDir: string;
  auditFile: string;
  registry: Registry;
  runs: RunStore;
  config(): DispatcherConfig;
  /** Rewrite ctrl-exec.conf with more settings (undefined removes one). */
  configure(settings: Record<string, string | number | undefined>): void;
  /** A copy of ctrl-exec.conf for the CLI (core's parser refuses api_port = 0); returns its path. */
  cliConfig(): string;
  /** Register an agent at 127.0.0.1:port. */
  register(name: string, port: number): void;
  /** Write an executable (mode 0755) and return its path. */
  executable(name: string, body: string): string;
  /** Stop this (a process, a server) before the env's directory is removed. */
  own(stop: () => unknown): void;
  audit(): Array<Record<string, unknown>>;
  auditText(): string;
}

export async function makeApiEnv(t: Teardown, settings: Record<string, string | number> = {}): Promise<ApiEnv> {
  const pki = await testPki();
  const { dir, own } = tempDir(t);
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir, { recursive: true });
  const auditFile = join(dir, 'audit.jsonl');
  const configPath = join(dir, 'ctrl-exec.conf');
  const base: Record<string, string | number> = {
    cert: pki.certPath,
    key: pki.keyPath,
    ca: pki.caCertPath,
    ca_dir: pki.caDir,
    state_dir: stateDir,
    key_bits: 2048,
    syslog: 'none',
    log_json: auditFile,
    api_bind: '127.0.0.1',
    api_port: 0,
    api_auth_default: 'allow',
    read_timeout: 20,
  };
  const current = { ...base, ...settings };
  const write = () => writeFileSync(configPath, Object.entries(current).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
  write();
  const registry = new Registry(join(stateDir, 'agents'));
  const auditText = () => (existsSync(auditFile) ? readFileSync(auditFile, 'utf8') : '');
  return {
    dir,
    pki,
    configPath,
    stateDir,
    auditFile,
    registry,
    runs: new RunStore(join(stateDir, 'runs')),
    config: () => loadApiConfig(configPath).config,
    configure(more) {
      for (const [k, v] of Object.entries(more)) {
        if (v === undefined) delete current[k];
        else current[k] = v;
      }
      write();
    },
    cliConfig() {
      const path = join(dir, 'cli.conf');
      const { api_port: _port, ...rest } = current;
      writeFileSync(path, Object.entries(rest).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
      return path;
    },
    register(name, port) {
      registry.put({
        hostname: name,
        ip: '127.0.0.1',
        paired: isoUtc(),
        expiry: '',
        reqid: '',
        lookup_by: 'ip',
        port,
        tags: {},
        dispatcher_serial: '',
        serial_status: 'current',
        serial_broadcast: '',
        serial_confirmed: '',
      });
    },
    own,
    executable(name, body) {
      const path = join(dir, name);
      writeFileSync(path, body, { mode: 0o755 });
      chmodSync(path, 0o755);
      return path;
    },
    auditText,
    audit: () =>
      auditText()
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/**
 * An auth hook that allows only token `allowed` (exit 0); any other token exits with a
 * code chosen by the token: `bad-creds` 2, `low-priv` 3, `seven` 7, anything else 1.
 * Every call is appended to `log` as one JSON line of the ENVEXEC_* variables it saw.
 */
export function tokenHook(env: ApiEnv, allowed: string, options: { allowEmptyFor?: string[]; sleepOnToken?: string } = {}): { path: string; log: string; calls(): Array<Record<string, string>> } {
  const log = join(env.dir, 'hook-calls.jsonl');
  const empty = (options.allowEmptyFor ?? []).map((a) => `[ "$ENVEXEC_ACTION" = "${a}" ] && [ -z "$ENVEXEC_TOKEN" ] && exit 0`).join('\n');
  const sleep = options.sleepOnToken ? `[ "$ENVEXEC_TOKEN" = "${options.sleepOnToken}" ] && sleep 1 && exit 0` : '';
  const path = env.executable(
    'auth-hook',
    `#!/bin/sh
printf '{"action":"%s","token":"%s","reqid":"%s","submitter":"%s","submitter_ip":"%s","script":"%s","hosts":"%s","username":"%s","source_ip":"%s"}\\n' \\
  "$ENVEXEC_ACTION" "$ENVEXEC_TOKEN" "$ENVEXEC_REQID" "$ENVEXEC_SUBMITTER" "$ENVEXEC_SUBMITTER_IP" "$ENVEXEC_SCRIPT" "$ENVEXEC_HOSTS" "$ENVEXEC_USERNAME" "$ENVEXEC_SOURCE_IP" >> '${log}'
${sleep}
${empty}
[ "$ENVEXEC_TOKEN" = "${allowed}" ] && exit 0
case "$ENVEXEC_TOKEN" in
  bad-creds) exit 2 ;;
  low-priv) exit 3 ;;
  seven) exit 7 ;;
esac
exit 1
`,
  );
  return {
    path,
    log,
    calls: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as Record<string, string>)
        : [],
  };
}

/** A port nothing listens on (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface RealAgent {
  name: string;
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Start the real agent (`ctrl-exec-agent serve`) with these scripts (name → shell body),
 * trusting the test dispatcher certificate, and register it with the dispatcher.
 */
export interface AgentOptions {
  /** More agent.conf settings. */
  extra?: Record<string, string>;
  /** The `[tags]` section. */
  tags?: Record<string, string>;
}

export async function startAgent(env: ApiEnv, name: string, scripts: Record<string, string>, options: AgentOptions = {}): Promise<RealAgent> {
  const root = join(env.dir, `agent-${name}`);
  const certDir = join(root, 'etc');
  const stateDir = join(root, 'var');
  const scriptsDir = join(root, 'scripts');
  for (const d of [root, certDir, stateDir, scriptsDir]) {
    mkdirSync(d, { recursive: true });
    chmodSync(d, 0o755);
  }
  const { key, cert } = await env.pki.issue(name);
  writeFileSync(join(certDir, 'agent.crt'), cert);
  writeFileSync(join(certDir, 'agent.key'), key, { mode: 0o600 });
  writeFileSync(join(certDir, 'ca.crt'), env.pki.ca.certPem);
  writeFileSync(join(stateDir, 'ctrl-exec-dispatchers'), `${env.pki.dispatcherSerial} dispatcher01\n`);
  const lines: string[] = [];
  for (const [script, body] of Object.entries(scripts)) {
    const path = join(scriptsDir, `${script}.sh`);
    writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    chmodSync(path, 0o755);
    lines.push(`${script} = ${path}`);
  }
  writeFileSync(join(certDir, 'scripts.conf'), `${lines.join('\n')}\n`);
  const port = await freePort();
  const values: Record<string, string> = {
    port: String(port),
    bind: '127.0.0.1',
    cert: join(certDir, 'agent.crt'),
    key: join(certDir, 'agent.key'),
    ca: join(certDir, 'ca.crt'),
    ca_dir: certDir,
    state_dir: stateDir,
    hostname: name,
    syslog: 'none',
    log_json: join(root, 'audit.jsonl'),
    rate_limit_disable: 'yes',
    ...options.extra,
  };
  const tags = Object.entries(options.tags ?? {}).map(([k, v]) => `${k} = ${v}`).join('\n');
  const conf = join(root, 'agent.conf');
  writeFileSync(conf, `${Object.entries(values).map(([k, v]) => `${k} = ${v}`).join('\n')}\n\n[profile default]\nrun_as = nobody\n${tags ? `\n[tags]\n${tags}\n` : ''}`);

  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv.CTRL_EXEC_AGENT_CONFIG;
  const proc = spawn(process.execPath, [AGENT_BIN, 'serve', '--config', conf], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  // SIGTERM first, so the agent removes its FIFO directory (a SIGKILL leaves it behind).
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  env.own(stop);
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => (err += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent ${name} did not start: ${err}`)), 20_000);
    proc.stdout!.on('data', (d: string) => {
      out += d;
      if (/listening on/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`agent ${name} exited before listening: ${err}`));
    });
  });
  env.register(name, port);
  return { name, port, proc, stop };
}

export interface ApiProcess {
  proc: ChildProcess;
  port: number;
  url: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start the real `ctrl-exec-api` binary and wait for its listening line. */
export async function startApiProcess(env: ApiEnv, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<ApiProcess> {
  const proc = spawn(process.execPath, [API_BIN, ...args], { env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  env.own(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => (err += d));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`api did not start: ${err}`)), 20_000);
    proc.stdout!.on('data', (d: string) => {
      out += d;
      const m = /listening on [^\s]+:(\d+) /.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`api exited (${code}) before listening: ${err}`));
    });
  });
  return { proc, port, url: `http://127.0.0.1:${port}`, stdout: () => out, stderr: () => err, exited };
}

/** Run a binary to completion. */
export function runProcess(bin: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export async function waitFor<T>(fn: () => T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Wait until an agent's detached async job has written its final record. Tests wait for
 * every job they start: a job outliving the test would write into a removed directory.
 */
export async function agentJobDone(env: ApiEnv, agent: string, reqid: string, timeoutMs = 15_000): Promise<void> {
  const path = join(env.dir, `agent-${agent}`, 'var', 'runs', 'dispatcher01', `${reqid}.json`);
  await waitFor(() => {
    try {
      return (JSON.parse(readFileSync(path, 'utf8')) as { status?: string }).status === 'done';
    } catch {
      return false;
    }
  }, timeoutMs, `async job ${reqid} on ${agent}`);
}

/** Teardown for fixtures shared by every test of a file: run them from a top-level `after`. */
export function sharedTeardown(): Teardown & { run(): Promise<void> } {
  const fns: Array<() => void | Promise<void>> = [];
  return {
    after(fn) {
      fns.push(fn);
    },
    async run() {
      for (const fn of fns.reverse()) await fn();
    },
  };
}
