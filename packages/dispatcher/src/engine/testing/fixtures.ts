/**
 * Throwaway dispatcher layouts for tests: a CA with 2048-bit keys, the dispatcher's own
 * certificate, agent certificates, a ctrl-exec.conf in a temp dir, registry records, and a
 * runner for the real CLI binary. Not part of the public API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createCa,
  createCsr,
  createDispatcherCert,
  generateRsaKey,
  issueCertificate,
  isoUtc,
  loadCa,
  loadDispatcherConfig,
  Registry,
  type DispatcherConfig,
  type LoadedCa,
} from '@ctrl-exec/core';

export const CLI_BIN = join(fileURLToPath(import.meta.url), '..', '..', '..', 'bin', 'ctrl-exec.js');

export interface Teardown {
  after(fn: () => void | Promise<void>): void;
}

export function tempDir(t: Teardown, prefix = 'ce-disp-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Pki {
  ca: LoadedCa;
  caCertPath: string;
  certPath: string;
  keyPath: string;
  /** An agent key and certificate signed by this CA. */
  issue(cn: string): Promise<{ key: string; cert: string }>;
}

export async function makePki(dir: string): Promise<Pki> {
  const caDir = join(dir, 'etc');
  await createCa({ dir: caDir, keyBits: 2048 });
  const ca = loadCa(caDir);
  const certPath = join(caDir, 'dispatcher.crt');
  const keyPath = join(caDir, 'dispatcher.key');
  await createDispatcherCert({ ca, certPath, keyPath, keyBits: 2048 });
  // Key generation is the slow part: test agents share one key, each with its own certificate.
  let agentKey: Promise<string> | undefined;
  return {
    ca,
    caCertPath: join(caDir, 'ca.crt'),
    certPath,
    keyPath,
    async issue(cn: string) {
      agentKey ??= generateRsaKey(2048);
      const key = await agentKey;
      const { certPem } = issueCertificate(ca, createCsr(key, cn), { days: 30 });
      return { key, cert: certPem };
    },
  };
}

let shared: Promise<Pki> | undefined;

/** One throwaway PKI for every test of a file (removed when the process exits). */
export function sharedPki(): Promise<Pki> {
  if (!shared) {
    const dir = mkdtempSync(join(tmpdir(), 'ce-pki-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    shared = makePki(dir);
  }
  return shared;
}

export interface DispatcherEnv {
  dir: string;
  pki: Pki;
  configPath: string;
  stateDir: string;
  auditFile: string;
  registry: Registry;
  config(): DispatcherConfig;
  /** Register an agent reachable at 127.0.0.1:port (lookup by ip). */
  register(name: string, port: number, extra?: Partial<{ hostname: string; ip: string; lookup_by: 'ip' | 'hostname' }>): void;
  auditText(): string;
  audit(): Array<Record<string, unknown>>;
}

export async function makeDispatcherEnv(t: Teardown, settings: Record<string, string | number> = {}, pki?: Pki): Promise<DispatcherEnv> {
  const dir = tempDir(t);
  const keys = pki ?? (await sharedPki());
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir, { recursive: true });
  const auditFile = join(dir, 'audit.jsonl');
  const lines: Record<string, string | number> = {
    cert: keys.certPath,
    key: keys.keyPath,
    ca: keys.caCertPath,
    ca_dir: dirname(keys.caCertPath),
    state_dir: stateDir,
    key_bits: 2048,
    syslog: 'none',
    log_json: auditFile,
    ...settings,
  };
  const configPath = join(dir, 'ctrl-exec.conf');
  writeFileSync(configPath, Object.entries(lines).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
  const registry = new Registry(join(stateDir, 'agents'));
  const auditText = () => (existsSync(auditFile) ? readFileSync(auditFile, 'utf8') : '');
  return {
    dir,
    pki: keys,
    configPath,
    stateDir,
    auditFile,
    registry,
    config: () => loadDispatcherConfig(configPath).config,
    register(name, port, extra = {}) {
      registry.put({
        hostname: name,
        ip: extra.ip ?? '127.0.0.1',
        paired: isoUtc(),
        expiry: '',
        reqid: '',
        lookup_by: extra.lookup_by ?? 'ip',
        port,
        tags: {},
        dispatcher_serial: '',
        serial_status: 'current',
        serial_broadcast: '',
        serial_confirmed: '',
      });
    },
    auditText,
    audit: () =>
      auditText()
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Start the real CLI; `done` resolves with its exit and output. */
export function startCli(env: DispatcherEnv, args: string[], extraEnv: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    env: { ...process.env, CTRL_EXEC_CONFIG: env.configPath, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done };
}

export function cli(env: DispatcherEnv, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startCli(env, args, extraEnv).done;
}

/** A port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
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

export async function waitFor<T>(fn: () => T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
