/**
 * Cancelling an async run (ours): `POST /cancel` to every host of the record that is still
 * running it. Failures are results, never exceptions.
 */
import { isPendingState, type AsyncRunRecord } from '@ctrl-exec/core';
import type { Dispatcher } from './dispatcher.js';
import { mapLimit } from './pool.js';
import { resolveHostRef } from './targets.js';

export interface CancelResult {
  host: string;
  /** `cancelling`, `done` (nothing left to stop), `unknown` (the agent has no such job) or `error`. */
  status: string;
  error?: string;
}

export async function cancelRun(
  dispatcher: Dispatcher,
  record: AsyncRunRecord,
  credentials: { username?: string; token?: string } = {},
  maxParallel = 64,
): Promise<CancelResult[]> {
  const running = Object.keys(record.hosts).filter((ref) => isPendingState(record.hosts[ref]?.status));
  if (running.length === 0) return [];
  const client = dispatcher.client();
  return mapLimit(running, Math.max(1, maxParallel), async (ref): Promise<CancelResult> => {
    const host = resolveHostRef(dispatcher.registry, ref);
    if (!host) return { host: ref, status: 'error', error: 'not a registered agent' };
    try {
      const reply = await client.call(host, 'POST', '/cancel', { reqid: record.reqid, ...credentials }, [404, 409]);
      const status = typeof reply.body.status === 'string' ? reply.body.status : 'error';
      return { host: host.name, status, ...(typeof reply.body.error === 'string' ? { error: reply.body.error } : {}) };
    } catch (err) {
      return { host: host.name, status: 'error', error: (err as Error).message };
    }
  });
}
