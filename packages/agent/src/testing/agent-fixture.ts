/** Test helpers: a throwaway agent installation in a temp dir, and running the real binary. */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

export const AGENT_BIN = fileURLToPath(new URL('../bin/ctrl-exec-agent.js', import.meta.url));
export const AGENT_NAME = 'agent-01.test.example';

export interface AgentEnv {
  root: string;
  certDir: string;
  stateDir: string;
  conf: string;
  cert: string;
  key: string;
  ca: string;
  trustedMap: string;
  requestState: string;
  audit: string;
}

export interface AgentEnvOptions {
  /** Extra or replacement `key = value` lines. */
  extra?: Record<string, string>;
  /** Do not create the certificate directory. */
  noCertDir?: boolean;
}

export function makeAgentEnv(t: TestContext, options: AgentEnvOptions = {}): AgentEnv {
  const root = mkdtempSync(join(tmpdir(), 'cea-test-'));
  t.after(() => {
    try {
      chmodSync(join(root, 'etc'), 0o755);
    } catch {
      /* absent */
    }
    rmSync(root, { recursive: true, force: true });
  });
  const certDir = join(root, 'etc');
  const stateDir = join(root, 'var', 'lib', 'agent');
  if (!options.noCertDir) mkdirSync(certDir);
  const env: AgentEnv = {
    root,
    certDir,
    stateDir,
    conf: join(root, 'agent.conf'),
    cert: join(certDir, 'agent.crt'),
    key: join(certDir, 'agent.key'),
    ca: join(certDir, 'ca.crt'),
    trustedMap: join(stateDir, 'ctrl-exec-dispatchers'),
    requestState: join(stateDir, 'pairing-request.json'),
    audit: join(root, 'audit.jsonl'),
  };
  const values: Record<string, string> = {
    port: '7443',
    cert: env.cert,
    key: env.key,
    ca: env.ca,
    ca_dir: certDir,
    state_dir: stateDir,
    hostname: AGENT_NAME,
    key_bits: '2048',
    syslog: 'none',
    log_json: env.audit,
    ...options.extra,
  };
  writeFileSync(env.conf, `# test agent.conf\n${Object.entries(values).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`);
  return env;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * Run without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (util-linux setpriv), so that root
   * meets file permissions like anyone else while still reading the checkout, wherever it is.
   */
  withoutDacOverride?: boolean;
}

/** Run the real ctrl-exec-agent binary; kills it after timeoutMs (default 60 s). */
export function runAgent(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
    delete env.CTRL_EXEC_AGENT_CONFIG;
    if (options.env?.CTRL_EXEC_AGENT_CONFIG) env.CTRL_EXEC_AGENT_CONFIG = options.env.CTRL_EXEC_AGENT_CONFIG;
    const [command, argv] = options.withoutDacOverride
      ? ['setpriv', ['--bounding-set', '-dac_override,-dac_read_search', '--', process.execPath, AGENT_BIN, ...args]]
      : [process.execPath, [AGENT_BIN, ...args]];
    const child = spawn(command, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Poll until fn returns a value other than undefined, or fail after timeoutMs. */
export async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 10_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The JSON audit records written so far. */
export function readAudit(path: string): Array<Record<string, unknown>> {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A TCP port on 127.0.0.1 with nothing listening (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
