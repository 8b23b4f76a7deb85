/** Run one command without a shell, with a deadline, collecting stdout (capped) and the tail of stderr. */
import { spawn } from 'node:child_process';

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** Last 4 KiB of stderr. */
  stderrTail: string;
  timedOut: boolean;
  /** stdout went past maxStdout and was cut. */
  overflow: boolean;
  /** Set when the command could not be started (ENOENT, EACCES...). */
  spawnError?: string;
}

export interface ExecOptions {
  cwd?: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  maxStdout?: number;
}

const STDERR_TAIL = 4096;

export function execute(command: string, args: readonly string[], options: ExecOptions): Promise<ExecResult> {
  const maxStdout = options.maxStdout ?? 256 * 1024 * 1024;
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, shell: false });
    const chunks: Buffer[] = [];
    let size = 0;
    let overflow = false;
    let stderr = '';
    let timedOut = false;
    let spawnError: string | undefined;
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      if (overflow) return;
      size += d.length;
      if (size > maxStdout) {
        overflow = true;
        killGroup();
        return;
      }
      chunks.push(d);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-STDERR_TAIL);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      spawnError = err.code ?? err.message;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(chunks).toString('utf8'), stderrTail: stderr, timedOut, overflow, ...(spawnError ? { spawnError } : {}) });
    });
  });
}
