/**
 * `GET /openapi-live.json` (features 136): the committed document with what the fleet
 * offers right now: the registered agent names as an `enum` on `hosts` items of the ping,
 * run and discovery requests, the scripts the agents report as an `enum` on the run
 * request's `script`, `x-ctrl-exec-scripts` (per script, the hosts offering it grouped by
 * schema version), and `info.version` stamped `<base>+<epoch>`. Never stored. An empty
 * list adds no `enum` (an empty one would make every request invalid).
 */
import type { HostResult } from '@ctrl-exec/dispatcher';

export interface LiveScriptHosts {
  hosts: string[];
  schema_version?: string;
  schema?: unknown;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Follow `components.schemas.<name>.properties.<prop>`, creating nothing. */
function property(doc: Json, schema: string, prop: string): Json | undefined {
  const components = doc.components;
  if (!isObject(components) || !isObject(components.schemas)) return undefined;
  const s = components.schemas[schema];
  if (!isObject(s) || !isObject(s.properties)) return undefined;
  const p = s.properties[prop];
  return isObject(p) ? p : undefined;
}

/** `x-ctrl-exec-scripts`: script name → [{hosts, schema_version?, schema?}], one entry per schema version. */
export function scriptsByVersion(results: readonly HostResult[]): Record<string, LiveScriptHosts[]> {
  const out: Record<string, LiveScriptHosts[]> = {};
  for (const r of results) {
    if (r.status !== 'ok' || !Array.isArray(r.scripts)) continue;
    for (const entry of r.scripts as unknown[]) {
      if (!isObject(entry) || typeof entry.name !== 'string' || entry.name === '') continue;
      const version = typeof entry.schema_version === 'string' ? entry.schema_version : undefined;
      const groups = (out[entry.name] ??= []);
      let group = groups.find((g) => g.schema_version === version);
      if (!group) {
        group = { hosts: [] };
        if (version !== undefined) group.schema_version = version;
        if (entry.schema !== undefined) group.schema = entry.schema;
        groups.push(group);
      }
      if (!group.hosts.includes(r.host)) group.hosts.push(r.host);
    }
  }
  const sorted: Record<string, LiveScriptHosts[]> = {};
  for (const name of Object.keys(out).sort()) sorted[name] = out[name]!;
  return sorted;
}

/** `<base>+<epoch>`, any `+digits` already on the base removed first. */
export function liveVersion(base: unknown, epochSeconds: number): string {
  const text = typeof base === 'string' ? base.replace(/\+\d+$/, '') : '';
  return `${text}+${epochSeconds}`;
}

/** The live document built from a copy of `base`. */
export function liveDocument(base: Json, options: { hosts: readonly string[]; results: readonly HostResult[]; epochSeconds: number }): Json {
  const doc = structuredClone(base);
  const hostEnum = [...new Set(options.hosts)].sort();
  for (const schema of ['PingRequest', 'RunRequest', 'DiscoveryRequest']) {
    const hosts = property(doc, schema, 'hosts');
    if (hosts && isObject(hosts.items) && hostEnum.length > 0) hosts.items = { ...hosts.items, enum: hostEnum };
  }
  const scripts = scriptsByVersion(options.results);
  const script = property(doc, 'RunRequest', 'script');
  if (script && Object.keys(scripts).length > 0) script.enum = Object.keys(scripts);
  doc['x-ctrl-exec-scripts'] = scripts;
  const info = isObject(doc.info) ? doc.info : (doc.info = {});
  info.version = liveVersion(info.version, options.epochSeconds);
  return doc;
}
