/**
 * Schema sidecars (wire-protocol §7.6, features 194-199): `<script path>.schema.json`
 * beside an allowlisted script, read at start and on SIGHUP, never executed or validated,
 * carried verbatim in `/capabilities`. A bad sidecar is skipped (and logged), never fatal.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { AuditEvent, ScriptEntry } from '@ctrl-exec/core';

export const SCHEMA_SUFFIX = '.schema.json';
export const MAX_SCHEMA_BYTES = 65_536;
const EXPLICIT_VERSION = /^[A-Za-z0-9._-]{1,64}$/;

export interface ScriptSchema {
  schema: Record<string, unknown>;
  schemaVersion: string;
}

export type SidecarResult =
  | { kind: 'absent' }
  | { kind: 'skip'; reason: string }
  | { kind: 'ok'; schema: Record<string, unknown>; schemaVersion: string; versionNote?: string };

/** JSON with object keys sorted at every level, no whitespace (Perl JSON `canonical`). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** `sha256:` + the first 12 hex digits of SHA-256 over the canonical JSON (UTF-8). */
export function derivedSchemaVersion(schema: Record<string, unknown>): string {
  return `sha256:${createHash('sha256').update(canonicalJson(schema), 'utf8').digest('hex').slice(0, 12)}`;
}

/**
 * The schema_version of a sidecar: its own `version` when that is a plain short token,
 * else the derived hash. `note` says why an explicit version was not used.
 */
export function schemaVersionOf(schema: Record<string, unknown>): { version: string; note?: string } {
  if (!Object.hasOwn(schema, 'version')) return { version: derivedSchemaVersion(schema) };
  const v = schema.version;
  if (typeof v === 'string' && EXPLICIT_VERSION.test(v) && !v.startsWith('sha256:')) return { version: v };
  return { version: derivedSchemaVersion(schema), note: 'invalid version field, derived from content' };
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
}

/** Read and check one sidecar (size, JSON, object). */
export function readSidecar(scriptPath: string): SidecarResult {
  const path = `${scriptPath}${SCHEMA_SUFFIX}`;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'absent' };
    return { kind: 'skip', reason: `cannot read: ${code}` };
  }
  let text: string;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { kind: 'skip', reason: 'cannot read: not a regular file' };
    if (st.size > MAX_SCHEMA_BYTES) return { kind: 'skip', reason: `oversize: ${st.size} > ${MAX_SCHEMA_BYTES} bytes` };
    const buf = Buffer.alloc(MAX_SCHEMA_BYTES + 1);
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, total, buf.length - total, null);
      if (n === 0) break;
      total += n;
      if (total > MAX_SCHEMA_BYTES) return { kind: 'skip', reason: `oversize: ${total} > ${MAX_SCHEMA_BYTES} bytes` };
    }
    text = buf.subarray(0, total).toString('utf8');
  } catch (err) {
    return { kind: 'skip', reason: `cannot read: ${errnoOf(err)}` };
  } finally {
    closeSync(fd);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { kind: 'skip', reason: `invalid JSON: ${(err as Error).message}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { kind: 'skip', reason: 'not a JSON object' };
  const schema = parsed as Record<string, unknown>;
  const { version, note } = schemaVersionOf(schema);
  return { kind: 'ok', schema, schemaVersion: version, ...(note ? { versionNote: note } : {}) };
}

/** Sidecars of every allowlisted script, and the audit events their loading produced. */
export function loadSchemas(scripts: Iterable<ScriptEntry>): { schemas: Map<string, ScriptSchema>; events: AuditEvent[] } {
  const schemas = new Map<string, ScriptSchema>();
  const events: AuditEvent[] = [];
  for (const entry of scripts) {
    const r = readSidecar(entry.path);
    if (r.kind === 'skip') events.push({ action: 'schema-skip', script: entry.name, reason: r.reason });
    if (r.kind !== 'ok') continue;
    if (r.versionNote) events.push({ action: 'schema-version-derive', script: entry.name, reason: r.versionNote });
    schemas.set(entry.name, { schema: r.schema, schemaVersion: r.schemaVersion });
  }
  return { schemas, events };
}
