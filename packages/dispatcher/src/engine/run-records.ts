/**
 * Run-store records built from dispatch results, and the aggregation of an async record
 * (wire-protocol §5.5): pending hosts are asked for `/result/<reqid>`; `done` replaces the
 * host's state, `running` stays pending, an agent 404 means `expired`, and a transport
 * error keeps the host pending with `fetch_error`.
 */
import {
  epochSeconds,
  isPendingState,
  toCtrlExecError,
  type AsyncHostState,
  type AsyncRunRecord,
  type RunSubmitter,
  type SyncRunRecord,
} from '@ctrl-exec/core';
import type { Dispatcher, HostResult } from './dispatcher.js';
import { parseHostRef, resolveHostRef, unknownAgentsError, type ResolvedHost } from './targets.js';

/** The async record of a submit: `refs[i]` is the reference `results[i]` answers for. */
export function asyncRecordFromSubmit(options: {
  reqid: string;
  script: string;
  refs: readonly string[];
  results: readonly HostResult[];
  submitter?: RunSubmitter;
  created?: number;
}): AsyncRunRecord {
  const hosts: Record<string, AsyncHostState> = {};
  options.refs.forEach((ref, i) => {
    const r = options.results[i];
    const status = r?.status;
    if (status === 'accepted') hosts[ref] = { status: 'accepted' };
    else if (status === 'busy') hosts[ref] = { status: 'busy', error: typeof r?.error === 'string' ? r.error : 'script already running' };
    else hosts[ref] = { status: 'error', error: typeof r?.error === 'string' ? r.error : 'submit failed' };
  });
  const pending = Object.keys(hosts).filter((h) => isPendingState(hosts[h]?.status));
  const record: AsyncRunRecord = {
    reqid: options.reqid,
    script: options.script,
    mode: 'async',
    created: options.created ?? epochSeconds(),
    hosts,
    pending,
    complete: pending.length === 0,
  };
  if (options.submitter) record.submitter = options.submitter;
  return record;
}

/** The sync record of a finished run (the API stores these). */
export function syncRecordFromResults(options: {
  reqid: string;
  script: string;
  refs: readonly string[];
  results: readonly HostResult[];
  submitter?: RunSubmitter;
  completed?: number;
}): SyncRunRecord {
  const record: SyncRunRecord = {
    reqid: options.reqid,
    script: options.script,
    mode: 'sync',
    hosts: [...options.refs],
    results: options.results.map((r) => ({ ...r })),
    completed: options.completed ?? epochSeconds(),
    complete: true,
  };
  if (options.submitter) record.submitter = options.submitter;
  return record;
}

function withFetchError(state: AsyncHostState | undefined, error: string): AsyncHostState {
  const { fetch_error: _old, ...rest } = state ?? { status: 'accepted' };
  return { ...rest, status: rest.status ?? 'accepted', fetch_error: error };
}

/** The new state of a pending host from its `/result` answer. */
export function stateFromFetch(previous: AsyncHostState | undefined, result: HostResult): AsyncHostState {
  switch (result.status) {
    case 'done':
      return {
        status: 'done',
        exit: typeof result.exit === 'number' ? result.exit : -1,
        stdout: typeof result.stdout === 'string' ? result.stdout : '',
        stderr: typeof result.stderr === 'string' ? result.stderr : '',
        ...(result.cancelled === true ? { cancelled: true } : {}),
      };
    case 'running':
      return { status: 'running' };
    case 'unknown':
      return { status: 'expired' };
    case 'error':
      return withFetchError(previous, typeof result.error === 'string' ? result.error : 'fetch failed');
    default:
      return withFetchError(previous, `unexpected result status '${String(result.status)}'`);
  }
}

/**
 * Fetch the pending hosts of an async record and return the updated record (a new object;
 * the input is not changed). Complete records and sync records come back as they are.
 */
export async function aggregateRecord(dispatcher: Dispatcher, record: AsyncRunRecord): Promise<AsyncRunRecord> {
  if (record.mode !== 'async' || record.complete || record.pending.length === 0) {
    return record.mode === 'async' && !record.complete && record.pending.length === 0 ? { ...record, complete: true } : record;
  }
  const hosts: Record<string, AsyncHostState> = { ...record.hosts };
  const pending = [...new Set(record.pending)];
  const targets: ResolvedHost[] = [];
  for (const ref of pending) {
    let host: ResolvedHost | undefined;
    try {
      host = resolveHostRef(dispatcher.registry, ref);
    } catch (err) {
      hosts[ref] = withFetchError(hosts[ref], toCtrlExecError(err).message);
      continue;
    }
    if (host) targets.push(host);
    else hosts[ref] = withFetchError(hosts[ref], unknownAgentsError([parseHostRef(ref).name]).message);
  }
  if (targets.length > 0) {
    try {
      const { results } = await dispatcher.fetchResults({ hosts: targets, reqid: record.reqid });
      targets.forEach((t, i) => {
        const r = results[i];
        if (r) hosts[t.ref] = stateFromFetch(hosts[t.ref], r);
      });
    } catch (err) {
      // e.g. the dispatcher key cannot be read: nothing could be asked, everything stays pending.
      const message = toCtrlExecError(err).message;
      for (const t of targets) hosts[t.ref] = withFetchError(hosts[t.ref], message);
    }
  }
  const stillPending = pending.filter((ref) => isPendingState(hosts[ref]?.status));
  return { ...record, hosts, pending: stillPending, complete: stillPending.length === 0 };
}

/** For `wait`: a host that did not finish with exit 0 (busy, error, expired, non-zero exit). */
export function hostFailed(state: AsyncHostState | undefined): boolean {
  const s = state?.status;
  if (s === 'busy' || s === 'error' || s === 'expired') return true;
  if (s === 'done') return state?.exit !== 0;
  return false;
}

/** A sync run result counts as success only with exit 0. */
export function runSucceeded(result: HostResult): boolean {
  return result.exit === 0;
}
