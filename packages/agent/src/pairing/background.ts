/**
 * `request-pairing --background` (wire-protocol §2.9). Node cannot hand a TLS session to a
 * forked child, so the parent starts a detached worker (this program again, with a hidden
 * option and an IPC channel) that makes the whole attempt itself and reports the reqid — or
 * why it failed — once the dispatcher has acknowledged. The parent prints that and exits; the
 * worker waits for the verdict.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

/** The hidden option that makes request-pairing run as the background worker. */
export const WORKER_FLAG = '--background-worker';
/** How long the parent waits for the worker's report (resolve + probe + key + TLS + ack fit well inside). */
export const WORKER_REPORT_TIMEOUT_MS = 120_000;
const EXIT_GRACE_MS = 500;

/** What the worker tells the parent. */
export type WorkerReport = { type: 'ack'; reqid: string } | { type: 'error'; message: string; exit: number };

export function isWorkerReport(v: unknown): v is WorkerReport {
  if (v === null || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  if (r.type === 'ack') return typeof r.reqid === 'string';
  if (r.type === 'error') return typeof r.message === 'string' && typeof r.exit === 'number';
  return false;
}

export interface StartWorkerOptions {
  execPath: string;
  script: string;
  /** Arguments after the script (mode, options, WORKER_FLAG). */
  args: string[];
  env: NodeJS.ProcessEnv;
  reportTimeoutMs?: number;
}

/**
 * Start the worker detached (own session, no terminal, stdio to /dev/null) and wait for its
 * report. After an `ack` the channel is closed and the worker left running on its own.
 */
export function startBackgroundWorker(opts: StartWorkerOptions): Promise<WorkerReport> {
  return new Promise((resolvePromise) => {
    let settled = false;
    const child = spawn(opts.execPath, [resolve(opts.script), ...opts.args], {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      env: opts.env,
      cwd: '/',
    });
    const finish = (report: WorkerReport, keepRunning: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.removeAllListeners('message');
      if (!keepRunning && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      if (child.connected) child.disconnect();
      child.unref();
      resolvePromise(report);
    };
    const timer = setTimeout(
      () =>
        finish(
          { type: 'error', message: `Pairing failed: the background pairing process did not report within ${Math.round((opts.reportTimeoutMs ?? WORKER_REPORT_TIMEOUT_MS) / 1000)} seconds.`, exit: 1 },
          false,
        ),
      opts.reportTimeoutMs ?? WORKER_REPORT_TIMEOUT_MS,
    );
    child.on('message', (message: unknown) => {
      if (!isWorkerReport(message)) return;
      finish(message, message.type === 'ack');
    });
    child.once('error', (err) => finish({ type: 'error', message: `Pairing failed: cannot start the background pairing process: ${err.message}`, exit: 1 }, false));
    // A report sent just before exiting may be read after the exit is noticed: give it a moment.
    child.once('exit', (code, signal) =>
      setTimeout(
        () =>
          finish(
            {
              type: 'error',
              message: `Pairing failed: the background pairing process ended before the request was acknowledged (${signal ? `signal ${signal}` : `exit ${code}`}).`,
              exit: 1,
            },
            false,
          ),
        EXIT_GRACE_MS,
      ),
    );
  });
}
