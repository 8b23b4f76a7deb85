/**
 * Agent tags (agent.conf `[tags]`), as agents report them in `/capabilities` and as the
 * registry caches them: refreshing the cache, and choosing agents by tag.
 */
import { matchesTags, type AgentRecord, type Registry } from '@ctrl-exec/core';
import type { HostResult } from './dispatcher.js';

function isStringMap(v: unknown): v is Record<string, string> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

function sameTags(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

/** Store each ok host's live tags in its registry record (best effort, only when changed). */
export function cacheTags(registry: Registry, results: readonly HostResult[]): void {
  for (const r of results) {
    if (r.status !== 'ok' || !isStringMap(r.tags)) continue;
    const tags = r.tags;
    try {
      const rec = registry.get(r.host);
      if (!rec || sameTags(rec.tags, tags)) continue;
      registry.update(r.host, (old: AgentRecord) => ({ ...old, tags: { ...tags } }));
    } catch {
      /* a registry we may not write (read-only, another owner) only loses the cache */
    }
  }
}

/** Registered agents whose cached tags match every `key=value` of `filter`, sorted by name. */
export function selectByTags(registry: Registry, filter: Record<string, string>): string[] {
  return registry
    .list(() => undefined)
    .filter((r) => matchesTags(r, filter))
    .map((r) => r.hostname)
    .sort();
}
