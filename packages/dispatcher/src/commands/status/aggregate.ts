import { RunStore, toCtrlExecError, type RunRecord } from '@ctrl-exec/core';
import type { Context } from '../../cli/context.js';
import { aggregateRecord, hostFailed, type Dispatcher } from '../../engine/index.js';

/**
 * Read a run record and, when it is an async one still pending, ask the agents and write
 * the updated record back. Undefined when there is no such request. A record we may read
 * but not rewrite (a read-only operator) is still shown, and the failure logged.
 */
export async function refreshRecord(ctx: Context, store: RunStore, reqid: string, dispatcher: () => Dispatcher): Promise<RunRecord | undefined> {
  const record = store.get(reqid);
  if (!record || record.mode !== 'async' || record.complete) return record;
  const updated = await aggregateRecord(dispatcher(), record);
  try {
    store.put(updated);
  } catch (err) {
    ctx.log({ action: 'run-store-fail', error: toCtrlExecError(err, 'CE_ERR_FS').message, reqid, level: 'warning' });
  }
  return updated;
}

export function reportNotFound(ctx: Context, reqid: string): number {
  if (ctx.json) ctx.printJson({ ok: 0, error: 'not found', reqid });
  else ctx.err(`No such request: ${reqid}`);
  return 1;
}

/** Did any host of a finished record fail (busy, error, expired, non-zero exit)? */
export function recordFailed(record: RunRecord): boolean {
  if (record.mode === 'sync') return record.results.some((r) => r.exit !== 0);
  return Object.values(record.hosts).some(hostFailed);
}

export function storeOf(ctx: Context): RunStore {
  return new RunStore(ctx.config().paths.runsDir);
}
