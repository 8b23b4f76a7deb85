/**
 * `GET /status/{reqid}` behind the route: records read from the run store (expired ones
 * never served), pending async hosts asked for their result through the engine (one
 * aggregation per reqid at a time, however many clients ask), the updated record written
 * back, and the `?wait=` loop that polls until the run is complete.
 */
import { statSync, unlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CtrlExecError,
  RUN_RETENTION_MS,
  toCtrlExecError,
  type AsyncRunRecord,
  type AuditEvent,
  type RunRecord,
  type RunStore,
} from '@ctrl-exec/core';
import { aggregateRecord, type Dispatcher } from '@ctrl-exec/dispatcher';

export interface StatusServiceOptions {
  runs: RunStore;
  dispatcher: Dispatcher;
  audit: (event: AuditEvent) => void;
  /** Mark a reqid as this server's while its engine events flow (metrics). */
  own?: (reqid: string) => () => void;
  /** Interval of the `wait` loop. Default 250 ms. */
  pollMs?: number;
  /** The whole store is purged at most this often; single records are checked on every read. Default 30 s. */
  purgeEveryMs?: number;
  retentionMs?: number;
  now?: () => number;
}

export const DEFAULT_POLL_MS = 250;

export class StatusService {
  readonly #runs: RunStore;
  readonly #dispatcher: Dispatcher;
  readonly #audit: (event: AuditEvent) => void;
  readonly #own: (reqid: string) => () => void;
  readonly #pollMs: number;
  readonly #purgeEveryMs: number;
  readonly #retentionMs: number;
  readonly #now: () => number;
  readonly #inflight = new Map<string, Promise<AsyncRunRecord>>();
  #lastPurge = -Infinity;

  constructor(options: StatusServiceOptions) {
    this.#runs = options.runs;
    this.#dispatcher = options.dispatcher;
    this.#audit = options.audit;
    this.#own = options.own ?? (() => () => undefined);
    this.#pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    this.#purgeEveryMs = options.purgeEveryMs ?? 30_000;
    this.#retentionMs = options.retentionMs ?? RUN_RETENTION_MS;
    this.#now = options.now ?? Date.now;
  }

  /** Drop records past retention (upstream purges on every /status; we do the whole store at most every purgeEveryMs). */
  purge(): void {
    const now = this.#now();
    if (now - this.#lastPurge < this.#purgeEveryMs) return;
    this.#lastPurge = now;
    try {
      this.#runs.purge(now, this.#retentionMs);
    } catch {
      /* an unreadable store shows up when the record is read */
    }
  }

  /**
   * The stored record, or undefined when there is none or it has expired (then it is
   * removed). An unreadable record is CE_ERR_FS.
   */
  read(reqid: string): RunRecord | undefined {
    let path: string;
    try {
      path = this.#runs.pathOf(reqid);
    } catch {
      return undefined;
    }
    try {
      if (statSync(path).mtimeMs < this.#now() - this.#retentionMs) {
        try {
          unlinkSync(path);
        } catch {
          /* not ours to remove: still not served */
        }
        return undefined;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    }
    return this.#runs.get(reqid);
  }

  /** Ask the pending hosts of an async record and store the result; others come back as they are. */
  refresh(record: RunRecord): Promise<RunRecord> {
    if (record.mode !== 'async' || record.complete) return Promise.resolve(record);
    const reqid = record.reqid;
    let pending = this.#inflight.get(reqid);
    if (!pending) {
      pending = this.#aggregate(record).finally(() => this.#inflight.delete(reqid));
      this.#inflight.set(reqid, pending);
    }
    return pending;
  }

  async #aggregate(record: AsyncRunRecord): Promise<AsyncRunRecord> {
    const release = this.#own(record.reqid);
    let updated: AsyncRunRecord;
    try {
      updated = await aggregateRecord(this.#dispatcher, record);
    } finally {
      release();
    }
    try {
      await this.#runs.putAsync(updated);
    } catch (err) {
      this.#audit({ action: 'run-store-fail', error: toCtrlExecError(err, 'CE_ERR_FS').message, reqid: record.reqid, level: 'warning' });
    }
    return updated;
  }

  /**
   * Refresh, then keep polling every pollMs until the record is complete, `waitMs` has
   * passed or `signal` fires (client gone, server stopping). Never busy-loops.
   */
  async settle(record: RunRecord, waitMs: number, signal?: AbortSignal): Promise<RunRecord> {
    let current = await this.refresh(record);
    const deadline = this.#now() + Math.max(0, waitMs);
    while (!current.complete && !signal?.aborted) {
      const left = deadline - this.#now();
      if (left <= 0) break;
      try {
        await sleep(Math.min(this.#pollMs, left), undefined, signal ? { signal } : {});
      } catch {
        break;
      }
      let fresh: RunRecord | undefined;
      try {
        fresh = this.read(record.reqid);
      } catch (err) {
        if (!(err instanceof CtrlExecError)) throw err;
        fresh = undefined;
      }
      // Removed or unreadable meanwhile: answer with what we have.
      if (!fresh) break;
      current = await this.refresh(fresh);
    }
    return current;
  }
}
