/**
 * Runs one allowlisted script (wire-protocol §7.1, DESIGN §3 item 7): no shell, a
 * scrubbed environment, the request context on stdin, stdout and stderr captured
 * concurrently with a per-stream cap, and an optional timeout or remote cancel that
 * kills the script's whole process group.
 *
 * The script's stdin, stdout and stderr are real pipes (FIFOs from a pool, see
 * script-pipes.ts), as upstream gives them; only when FIFOs cannot be made does it
 * get Node's own stdio, which are UNIX sockets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { isAbsolute } from 'node:path';
import { performance } from 'node:perf_hooks';
import { scrubEnv } from './env.js';
import { EXIT_EXEC_FAILED, EXIT_SIGNALLED, EXIT_SPAWN_FAILED, startFailure, type StartFailure } from './exit-status.js';
import { OutputCapture } from './output-capture.js';
import { groupAlive, signalGroup } from './process-group.js';
import { defaultFifoPool, openScriptPipes, type ScriptPipes } from './script-pipes.js';
import type { FifoPool } from './fifo-pool.js';
import { feedStdin, type StdinFeeder } from './stdin-feeder.js';

export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
export const DEFAULT_STDIN_TIMEOUT_MS = 10_000;
/** Between SIGTERM and SIGKILL of the process group. */
export const KILL_GRACE_MS = 2_000;
/** After the script exits, how long a background child may keep the output pipes open. */
export const EXIT_DRAIN_MS = 1_000;
/** Shortest such wait, even when the exec timeout is about to expire. */
const MIN_DRAIN_MS = 100;

export interface RunScriptOptions {
  /** Absolute path of the allowlisted script. */
  path: string;
  /** Passed verbatim as argv[1..]; never through a shell. */
  args: string[];
  /** The JSON context, written then EOF. */
  stdin: string;
  /** The agent's environment, scrubbed with scrubEnv (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Working directory; default '/'. */
  cwd?: string;
  /** Default 10 000: if the script does not take its stdin in time, the pipe is closed and reported. */
  stdinTimeoutMs?: number;
  /** Exec timeout: SIGTERM the whole process group, SIGKILL it 2 s later. */
  timeoutMs?: number;
  /** Per stream; default DEFAULT_MAX_OUTPUT_BYTES. */
  maxOutputBytes?: number;
  /** Remote cancel: same group kill as a timeout. */
  signal?: AbortSignal;
  onStdinTimeout?: (unwrittenBytes: number) => void;
}

export interface ScriptResult {
  /** Exit status; 126 if killed by a signal (incl. timeout/cancel); 127 if it could not be executed; -1 on spawn/pipe failure. */
  exit: number;
  /** UTF-8 decoded, invalid sequences replaced. */
  stdout: string;
  stderr: string;
  /** True if either stream exceeded maxOutputBytes. */
  truncated: boolean;
  /** True total bytes the script wrote to stdout. */
  stdoutBytes: number;
  stderrBytes: number;
  timedOut: boolean;
  cancelled: boolean;
  /** The signal that ended the script, e.g. 'SIGKILL'. */
  signal?: string;
  durationMs: number;
  /** For 127 / -1 (and a cancel before start): why. */
  error?: string;
}

/** setTimeout fires at once (with a warning) beyond this, so longer limits are clamped to it. */
const MAX_TIMER_MS = 2_147_483_647;

function positive(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

function timerMs(value: number): number {
  return Math.min(Math.max(1, Math.ceil(value)), MAX_TIMER_MS);
}

function failedResult(started: number, failure: StartFailure, extra: Partial<ScriptResult> = {}): ScriptResult {
  return {
    exit: failure.exit,
    stdout: '',
    stderr: '',
    truncated: false,
    stdoutBytes: 0,
    stderrBytes: 0,
    timedOut: false,
    cancelled: false,
    durationMs: Math.round(performance.now() - started),
    error: failure.error,
    ...extra,
  };
}

/** Reasons not to start at all; undefined when the request is runnable. */
function precheck(opts: RunScriptOptions, args: string[]): StartFailure | undefined {
  const path = opts.path;
  if (typeof path !== 'string' || path.includes('\0') || !isAbsolute(path)) {
    return { exit: EXIT_EXEC_FAILED, error: 'exec failed: script path must be an absolute path' };
  }
  if (args.some((a) => a.includes('\0'))) return { exit: EXIT_SPAWN_FAILED, error: 'spawn failed: argument contains a NUL byte' };
  if (typeof opts.cwd === 'string' && opts.cwd.includes('\0')) return { exit: EXIT_SPAWN_FAILED, error: 'spawn failed: cwd contains a NUL byte' };
  return undefined;
}

/** Run the script and collect its result. Never rejects. */
export function runScript(opts: RunScriptOptions): Promise<ScriptResult> {
  return runScriptWith(opts, defaultFifoPool());
}

/**
 * runScript with the FIFOs taken from `pool`, or with Node's socket stdio when
 * `pool` is null. Not part of the package API: for tests and measurements.
 */
export function runScriptWith(opts: RunScriptOptions, pool: FifoPool | null): Promise<ScriptResult> {
  const started = performance.now();
  return new Promise<ScriptResult>((resolve) => {
    try {
      execute(opts, pool, started, resolve);
    } catch (err) {
      resolve(failedResult(started, startFailure(err)));
    }
  }).catch((err: unknown) => failedResult(started, startFailure(err)));
}

function execute(opts: RunScriptOptions, pool: FifoPool | null, started: number, resolve: (r: ScriptResult) => void): void {
  const args = (Array.isArray(opts.args) ? opts.args : []).map((a) => (typeof a === 'string' ? a : String(a)));
  const refused = precheck(opts, args);
  if (refused) return resolve(failedResult(started, refused));
  if (opts.signal?.aborted) {
    return resolve(failedResult(started, { exit: EXIT_SIGNALLED, error: 'cancelled before start' }, { cancelled: true }));
  }

  const maxBytes = Math.floor(positive(opts.maxOutputBytes, DEFAULT_MAX_OUTPUT_BYTES));
  const stdinTimeoutMs = timerMs(positive(opts.stdinTimeoutMs, DEFAULT_STDIN_TIMEOUT_MS));
  const timeoutMs = positive(opts.timeoutMs, 0) > 0 ? timerMs(opts.timeoutMs!) : undefined;
  const deadline = timeoutMs === undefined ? Infinity : started + timeoutMs;
  const input = Buffer.from(typeof opts.stdin === 'string' ? opts.stdin : String(opts.stdin ?? ''), 'utf8');

  const out = new OutputCapture(maxBytes);
  const err = new OutputCapture(maxBytes);
  let settled = false;
  let exited = false;
  let exitCode: number | null = null;
  let exitSignal: NodeJS.Signals | null = null;
  let stdoutOpen = true;
  let stderrOpen = true;
  let timedOut = false;
  let cancelled = false;
  let killing = false;
  let feeder: StdinFeeder | undefined;
  let execTimer: NodeJS.Timeout | undefined;
  let drainTimer: NodeJS.Timeout | undefined;
  let killTimer: NodeJS.Timeout | undefined;

  const env = scrubEnv(opts.env ?? process.env);
  const pipes: ScriptPipes | undefined = pool ? openScriptPipes(pool) : undefined;
  let child: ChildProcess;
  try {
    child = spawn(opts.path, args, {
      shell: false,
      detached: true,
      env,
      cwd: opts.cwd ?? '/',
      stdio: pipes ? pipes.childFds : ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
  } catch (e) {
    pipes?.close();
    throw e;
  }
  // The child has its own copies now (or there is no child): the parent's must go,
  // or the parent itself would keep the stdout pipe open and never see EOF.
  pipes?.releaseChildEnds();
  const pid = child.pid;
  const stdin: Writable | null = pipes ? pipes.stdin : child.stdin;
  const stdout: Readable | null = pipes ? pipes.stdout : child.stdout;
  const stderr: Readable | null = pipes ? pipes.stderr : child.stderr;

  const cleanup = () => {
    if (execTimer) clearTimeout(execTimer);
    if (drainTimer) clearTimeout(drainTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    feeder?.stop();
    stdin?.destroy();
    // A background child may still hold these: stop reading, it gets EPIPE on its next write.
    stdout?.destroy();
    stderr?.destroy();
    pipes?.close();
    if (killTimer && !groupAlive(pid)) {
      clearTimeout(killTimer);
      killTimer = undefined;
    }
  };

  const finish = (failure?: StartFailure) => {
    if (settled) return;
    settled = true;
    cleanup();
    if (failure) return resolve(failedResult(started, failure));
    const o = out.result();
    const e = err.result();
    const result: ScriptResult = {
      exit: EXIT_SPAWN_FAILED,
      stdout: o.text,
      stderr: e.text,
      truncated: o.truncated || e.truncated,
      stdoutBytes: o.bytes,
      stderrBytes: e.bytes,
      timedOut,
      cancelled,
      durationMs: Math.round(performance.now() - started),
    };
    if (exitSignal !== null) result.signal = exitSignal;
    if (timedOut || cancelled || exitSignal !== null) result.exit = EXIT_SIGNALLED;
    else if (exitCode !== null) result.exit = exitCode;
    else result.error = 'no exit status';
    resolve(result);
  };

  const maybeFinish = () => {
    if (exited && !stdoutOpen && !stderrOpen) finish();
  };

  const killGroup = () => {
    if (killing) return;
    killing = true;
    signalGroup(pid, 'SIGTERM');
    killTimer = setTimeout(() => {
      killTimer = undefined;
      if (groupAlive(pid)) signalGroup(pid, 'SIGKILL');
    }, KILL_GRACE_MS);
  };

  function onAbort(): void {
    if (settled || exited || killing) return;
    cancelled = true;
    killGroup();
  }

  child.on('error', (e) => {
    // After a successful start the only errors are signalling ones, which we do not use.
    if (pid === undefined) finish(startFailure(e));
  });
  stdin?.on('error', () => undefined);
  stdout?.on('error', () => undefined);
  stderr?.on('error', () => undefined);
  if (pid === undefined) return; // the 'error' event follows

  stdout?.on('data', (c: Buffer) => out.push(c));
  stderr?.on('data', (c: Buffer) => err.push(c));
  stdout?.on('close', () => {
    stdoutOpen = false;
    maybeFinish();
  });
  stderr?.on('close', () => {
    stderrOpen = false;
    maybeFinish();
  });
  if (!stdout) stdoutOpen = false;
  if (!stderr) stderrOpen = false;

  child.on('exit', (code, signal) => {
    exited = true;
    exitCode = code;
    exitSignal = signal;
    if (execTimer) clearTimeout(execTimer);
    // Output already in the pipes is still collected; only a lingering holder is cut off.
    const untilDeadline = killing ? EXIT_DRAIN_MS : deadline - performance.now();
    const drainMs = Math.min(EXIT_DRAIN_MS, Math.max(MIN_DRAIN_MS, untilDeadline));
    drainTimer = setTimeout(() => finish(), drainMs);
    maybeFinish();
  });

  if (stdin) {
    feeder = feedStdin(stdin, input, stdinTimeoutMs, (unwritten) => {
      try {
        opts.onStdinTimeout?.(unwritten);
      } catch {
        /* a reporting callback must not break the run */
      }
    });
  }

  if (timeoutMs !== undefined) {
    execTimer = setTimeout(() => {
      if (settled || exited || killing) return;
      timedOut = true;
      killGroup();
    }, timeoutMs);
  }
  opts.signal?.addEventListener('abort', onAbort, { once: true });
}
