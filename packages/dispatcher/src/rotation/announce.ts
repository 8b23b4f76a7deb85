/**
 * Telling agents about dispatcher serials (wire-protocol §1.5 /rotate-serial, §4.1): one
 * request per agent, at most `max_parallel` at a time, over a client that presents the
 * identity the agent still trusts. Failures are outcomes, never exceptions.
 */
import type { AgentRecord, DispatcherConfig } from '@ctrl-exec/core';
import { AgentClient, type AgentTarget } from '../engine/agent-client.js';
import { DEFAULT_MAX_PARALLEL } from '../engine/dispatcher.js';
import { mapLimit } from '../engine/pool.js';
import { agentAddress } from '../engine/targets.js';

export interface AnnounceOutcome {
  host: string;
  ok: boolean;
  error?: string;
}

export function targetOf(record: AgentRecord): AgentTarget {
  return { name: record.hostname, address: agentAddress(record), port: record.port };
}

/** A one-shot client presenting `identity` (no pool, no saved sessions). */
export function clientFor(config: Pick<DispatcherConfig, 'ca' | 'readTimeout'>, identity: { cert: string; key: string }, ca: string): AgentClient {
  return new AgentClient({ cert: identity.cert, key: identity.key, ca, readTimeout: config.readTimeout, keepAlive: false });
}

export async function announceSerial(
  client: AgentClient,
  records: readonly AgentRecord[],
  serial: string,
  action: 'add' | 'remove',
  maxParallel: number = DEFAULT_MAX_PARALLEL,
): Promise<AnnounceOutcome[]> {
  return mapLimit(records, Math.max(1, maxParallel), async (record) => {
    try {
      const reply = await client.call(targetOf(record), 'POST', '/rotate-serial', { serial, action });
      if (reply.body.status === 'ok') return { host: record.hostname, ok: true };
      const error = typeof reply.body.error === 'string' ? reply.body.error : `unexpected reply ${JSON.stringify(reply.body).slice(0, 200)}`;
      return { host: record.hostname, ok: false, error };
    } catch (err) {
      return { host: record.hostname, ok: false, error: (err as Error).message };
    }
  });
}
