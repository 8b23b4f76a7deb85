/**
 * `<state_dir>/pairing-request.json`: what a background pairing worker is doing, then how
 * it ended. Written atomically; read by `pairing-status` and by orchestration scripts.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '@ctrl-exec/core';
import { printable } from './failure.js';

export type RequestOutcome = 'approved' | 'timeout' | 'denied' | 'failed';

export interface PendingRequestState {
  reqid: string;
  pid: number;
  dispatcher: string;
  port: number;
  /** ISO-8601 UTC. */
  started: string;
  /** Seconds the worker waits for the verdict. */
  timeout: number;
  /** The 6-digit pairing code, for comparing with the dispatcher's list-requests. */
  code?: string;
}

export interface FinishedRequestState {
  reqid: string;
  outcome: RequestOutcome;
  /** The worker's exit code: 0 approved, 2 timeout, 3 denied or failed. */
  exit: number;
  reason?: string;
  /** ISO-8601 UTC. */
  finished: string;
  dispatcher?: string;
  port?: number;
  started?: string;
}

export type RequestState = PendingRequestState | FinishedRequestState;

export function isFinished(state: RequestState): state is FinishedRequestState {
  return 'outcome' in state;
}

export async function writeRequestState(path: string, state: RequestState): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(state)}\n`, { mode: 0o644, mkdirParent: true });
}

const OUTCOMES = new Set<string>(['approved', 'timeout', 'denied', 'failed']);

/** The recorded state, or undefined when there is none or it is unreadable. */
export function readRequestState(path: string): RequestState | undefined {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.reqid !== 'string') return undefined;
  const opt = <T>(ok: boolean, x: T) => (ok ? x : undefined);
  if (typeof v.outcome === 'string') {
    if (!OUTCOMES.has(v.outcome) || typeof v.exit !== 'number' || typeof v.finished !== 'string') return undefined;
    const state: FinishedRequestState = { reqid: v.reqid, outcome: v.outcome as RequestOutcome, exit: v.exit, finished: v.finished };
    const reason = opt(typeof v.reason === 'string', v.reason as string);
    const dispatcher = opt(typeof v.dispatcher === 'string', v.dispatcher as string);
    const port = opt(typeof v.port === 'number', v.port as number);
    const started = opt(typeof v.started === 'string', v.started as string);
    return {
      ...state,
      ...(reason !== undefined ? { reason } : {}),
      ...(dispatcher !== undefined ? { dispatcher } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(started !== undefined ? { started } : {}),
    };
  }
  if (typeof v.pid !== 'number' || typeof v.dispatcher !== 'string' || typeof v.port !== 'number') return undefined;
  if (typeof v.started !== 'string' || typeof v.timeout !== 'number') return undefined;
  const pending: PendingRequestState = { reqid: v.reqid, pid: v.pid, dispatcher: v.dispatcher, port: v.port, started: v.started, timeout: v.timeout };
  return typeof v.code === 'string' && /^\d{6}$/.test(v.code) ? { ...pending, code: v.code } : pending;
}

/**
 * True when a process with this pid is running (EPERM: it exists but is someone else's).
 * A zombie (exited, not yet reaped — an orphaned worker under a PID 1 that does not reap)
 * counts as ended.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // `pid (comm) state ...`; comm may contain spaces and parentheses, so look after the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

/** One line for `pairing-status`. */
export function describeRequestState(state: RequestState, alive: (pid: number) => boolean = processAlive): string {
  const reqid = printable(state.reqid);
  if (isFinished(state)) {
    const withWhom = state.dispatcher ? ` with ${printable(state.dispatcher)}` : '';
    const reason = state.reason ? ` (${printable(state.reason)})` : '';
    return `Last pairing request ${reqid}${withWhom}: ${state.outcome}${reason} at ${printable(state.finished)}.`;
  }
  const who = printable(state.dispatcher);
  if (alive(state.pid)) return `Pairing request ${reqid} pending with ${who} (pid ${state.pid})${state.code ? `, code ${state.code}` : ''}.`;
  return `Pairing request ${reqid} with ${who} was abandoned: its process (pid ${state.pid}) is no longer running.`;
}
