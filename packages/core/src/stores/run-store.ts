/**
 * The dispatcher's run store (wire-protocol §5.5): `<runsDir>/<reqid>.json`, one record per
 * operation, written atomically with mode 0640, in upstream's record shapes so either
 * implementation can read the other's. Records older than 24 h (by mtime) are purged.
 */
import { readFileSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CtrlExecError } from '../errors.js';
import { writeFileAtomic, writeFileAtomicSync } from '../fs/atomic-write.js';

export const RUN_FILE_MODE = 0o640;
export const RUN_RETENTION_MS = 86_400_000;

const REQID = /^[a-f0-9]+$/;
const MAX_REQID_LENGTH = 128;

export function isValidRunReqid(reqid: unknown): reqid is string {
  return typeof reqid === 'string' && reqid.length <= MAX_REQID_LENGTH && REQID.test(reqid);
}

export interface RunSubmitter {
  username: string;
  source_ip: string;
}

/** A finished synchronous operation (written by the API). */
export interface SyncRunRecord {
  reqid: string;
  script: string;
  mode: 'sync';
  /** Host references as given. */
  hosts: string[];
  /** Per-host results, as returned to the caller. */
  results: Array<Record<string, unknown>>;
  /** Epoch seconds. */
  completed: number;
  complete: true;
  submitter?: RunSubmitter;
}

/**
 * One host of an async operation: `accepted`/`running` are pending (re-fetched), `done`
 * carries exit/stdout/stderr, `expired` is an agent 404, `busy`/`error` never ran.
 */
export interface AsyncHostState {
  status: 'accepted' | 'running' | 'done' | 'expired' | 'busy' | 'error' | (string & {});
  error?: string;
  exit?: number;
  stdout?: string;
  stderr?: string;
  /** A transient failure of the last fetch; the host stays pending. */
  fetch_error?: string;
  [extra: string]: unknown;
}

export interface AsyncRunRecord {
  reqid: string;
  script: string;
  mode: 'async';
  /** Epoch seconds. */
  created: number;
  /** Keyed by the host reference as given. */
  hosts: Record<string, AsyncHostState>;
  pending: string[];
  complete: boolean;
  /** Absent on records written by the CLI. */
  submitter?: RunSubmitter;
}

export type RunRecord = SyncRunRecord | AsyncRunRecord;

/** Host states that are re-fetched from the agent. */
export function isPendingState(status: unknown): boolean {
  return status === 'accepted' || status === 'running';
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

function epoch(v: unknown): number {
  const n = Number(v);
  return Number.isFinite(n) ? Math.trunc(n) : 0;
}

function submitterOf(v: unknown): RunSubmitter | undefined {
  if (!isPlainObject(v)) return undefined;
  return { username: str(v.username), source_ip: str(v.source_ip) };
}

/** A record read from disk, with upstream's tolerance for odd values; undefined when unusable. */
function normalise(raw: Record<string, unknown>, reqid: string): RunRecord | undefined {
  const submitter = submitterOf(raw.submitter);
  if (raw.mode === 'sync') {
    const rec: SyncRunRecord = {
      ...raw,
      reqid: str(raw.reqid) || reqid,
      script: str(raw.script),
      mode: 'sync',
      hosts: Array.isArray(raw.hosts) ? raw.hosts.map(str) : [],
      results: Array.isArray(raw.results) ? raw.results.filter(isPlainObject) : [],
      completed: epoch(raw.completed),
      complete: true,
    };
    if (submitter) rec.submitter = submitter;
    else delete rec.submitter;
    return rec;
  }
  if (raw.mode === 'async') {
    const hosts: Record<string, AsyncHostState> = {};
    if (isPlainObject(raw.hosts)) {
      for (const [host, state] of Object.entries(raw.hosts)) {
        hosts[host] = isPlainObject(state) ? { ...state, status: str(state.status) || 'error' } : { status: 'error', error: 'unreadable host state' };
      }
    }
    const pending = Array.isArray(raw.pending) ? raw.pending.map(str).filter((h) => h in hosts) : [];
    const rec: AsyncRunRecord = {
      ...raw,
      reqid: str(raw.reqid) || reqid,
      script: str(raw.script),
      mode: 'async',
      created: epoch(raw.created),
      hosts,
      pending,
      complete: raw.complete === true || raw.complete === 1 || (raw.complete === undefined && pending.length === 0),
    };
    if (submitter) rec.submitter = submitter;
    else delete rec.submitter;
    return rec;
  }
  return undefined;
}

function serialise(record: RunRecord): string {
  return `${JSON.stringify(record)}\n`;
}

export class RunStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Path of a record; the reqid must be lowercase hex. */
  pathOf(reqid: string): string {
    if (!isValidRunReqid(reqid)) {
      throw new CtrlExecError('CE_ERR_BAD_REQUEST', `invalid request id '${String(reqid).slice(0, 64)}'`, { details: { reqid } });
    }
    return join(this.dir, `${reqid}.json`);
  }

  /**
   * The record of `reqid`, or undefined when absent or when reqid is not lowercase hex.
   * A file that exists but is not a usable record is CE_ERR_FS.
   */
  get(reqid: string): RunRecord | undefined {
    if (!isValidRunReqid(reqid)) return undefined;
    const path = join(this.dir, `${reqid}.json`);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT') return undefined;
      throw new CtrlExecError('CE_ERR_FS', `cannot read run record '${path}': ${code}`, { cause: err, details: { path, errno: code } });
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new CtrlExecError('CE_ERR_FS', `run record '${path}' is not valid JSON`, { cause: err, details: { path } });
    }
    const rec = isPlainObject(raw) ? normalise(raw, reqid) : undefined;
    if (!rec) throw new CtrlExecError('CE_ERR_FS', `run record '${path}' is not a run record`, { details: { path } });
    return rec;
  }

  /** Write (or rewrite) a record atomically, 0640; the directory is created 0750 when missing. */
  put(record: RunRecord): void {
    writeFileAtomicSync(this.pathOf(record.reqid), serialise(record), this.#writeOptions());
    this.#dirReady = true;
  }

  /** put() without blocking the event loop, for servers. */
  async putAsync(record: RunRecord): Promise<void> {
    await writeFileAtomic(this.pathOf(record.reqid), serialise(record), this.#writeOptions());
    this.#dirReady = true;
  }

  #dirReady = false;

  /**
   * Records are rewritten atomically (temp + rename) but not fsynced: a run record is a
   * 24-hour result cache, and an fsync per run would cost more than the run on fast hosts.
   * The directory is created once per store.
   */
  #writeOptions(): { mode: number; mkdirParent: boolean; fsync: false } {
    return { mode: RUN_FILE_MODE, mkdirParent: !this.#dirReady, fsync: false };
  }

  /**
   * Delete records last written more than `maxAgeMs` before `now` (ms since the epoch), and
   * temp files left behind by interrupted writes. Returns the reqids removed.
   */
  purge(now: number = Date.now(), maxAgeMs: number = RUN_RETENTION_MS): string[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return [];
      throw new CtrlExecError('CE_ERR_FS', `cannot read run store '${this.dir}': ${errnoOf(err)}`, { cause: err, details: { path: this.dir } });
    }
    const removed: string[] = [];
    const cutoff = now - maxAgeMs;
    for (const name of names) {
      const record = /^([a-f0-9]+)\.json$/.exec(name);
      const temp = /^\.[a-f0-9]+\.json\.\d+\.[a-f0-9]+\.tmp$/.test(name);
      if (!record && !temp) continue;
      const path = join(this.dir, name);
      try {
        const st = statSync(path);
        if (!st.isFile() || st.mtimeMs >= cutoff) continue;
        unlinkSync(path);
        if (record) removed.push(record[1]!);
      } catch {
        /* gone already, or not ours to remove: leave it */
      }
    }
    return removed.sort();
  }
}
