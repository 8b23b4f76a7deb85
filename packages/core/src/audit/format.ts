/**
 * Rendering audit events. An event is data (`{action:'run', script:'backup', exit:0}`);
 * this module turns it into upstream's syslog message text
 * (`ACTION=run EXIT=0 SCRIPT=backup`) and into the record written as JSON.
 */
import type { Level } from './levels.js';
import { isSensitiveField, NO_SECRETS, type SecretRedactor } from './redact.js';
import { isoUtc } from '../time.js';

/** One audit event. Field names are lower case in code and upper-cased in syslog lines. */
export interface AuditEvent {
  action: string;
  level?: Level;
  [field: string]: unknown;
}

type Redactor = Pick<SecretRedactor, 'redact'>;

const MAX_DEPTH = 8;

/**
 * A deep copy fit for logging: credential-named keys dropped, strings redacted, bigints as
 * text, dates as ISO-8601 UTC, errors as their message, functions and symbols dropped.
 */
export function sanitiseValue(value: unknown, redactor: Redactor = NO_SECRETS, depth = 0): unknown {
  switch (typeof value) {
    case 'string':
      return redactor.redact(value);
    case 'number':
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
      return undefined;
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : isoUtc(value);
  if (value instanceof Error) return redactor.redact(value.message);
  if (depth >= MAX_DEPTH) return '[depth]';
  if (Array.isArray(value)) return value.map((item) => sanitiseValue(item, redactor, depth + 1) ?? null);
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (isSensitiveField(key)) continue;
    const clean = sanitiseValue(item, redactor, depth + 1);
    if (clean !== undefined) out[key] = clean;
  }
  return out;
}

/** The text of one value, before quoting: empty for undefined/null, arrays joined with ','. */
export function valueText(value: unknown, redactor: Redactor = NO_SECRETS): string {
  switch (typeof value) {
    case 'string':
      return redactor.redact(value);
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'undefined':
    case 'function':
    case 'symbol':
      return '';
  }
  if (value === null) return '';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : isoUtc(value);
  if (value instanceof Error) return redactor.redact(value.message);
  if (Array.isArray(value)) {
    return value
      .map((item) => (item !== null && typeof item === 'object' && !(item instanceof Date) && !(item instanceof Error)
        ? JSON.stringify(sanitiseValue(item, redactor, 1))
        : valueText(item, redactor)))
      .join(',');
  }
  return JSON.stringify(sanitiseValue(value, redactor)) ?? '';
}

/** A value as it appears after `KEY=`: wrapped in double quotes when it holds any whitespace. */
export function renderValue(value: unknown, redactor: Redactor = NO_SECRETS): string {
  const text = valueText(value, redactor);
  return /\s/.test(text) ? `"${text}"` : text;
}

/** The syslog key of a field: upper case, anything outside [A-Z0-9_] becomes '_'. */
export function fieldKey(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/**
 * Upstream's message text: `ACTION=<action>` first, then every other field (except `level`
 * and credential-named ones) as `KEY=value`, keys sorted ASCII-alphabetically, one space
 * between. Newlines inside values are kept; line-oriented sinks escape them.
 */
export function formatAuditLine(event: AuditEvent, redactor: Redactor = NO_SECRETS): string {
  const fields: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(event)) {
    if (name === 'action' || name === 'level' || isSensitiveField(name)) continue;
    const key = fieldKey(name);
    if (key === 'ACTION' || key === '') continue;
    fields.push([key, renderValue(value, redactor)]);
  }
  fields.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let line = `ACTION=${renderValue(event.action, redactor)}`;
  for (const [key, value] of fields) line += ` ${key}=${value}`;
  return line;
}

/** Keys the JSON logger writes itself; an event field with one of these names gets a `field_` prefix. */
const JSON_RESERVED = new Set(['level', 'time', 'ident', 'msg']);

/** The JSON record of an event: `action` first, then the sanitised fields under their own names. */
export function auditRecord(event: AuditEvent, redactor: Redactor = NO_SECRETS): Record<string, unknown> {
  const record: Record<string, unknown> = { action: valueText(event.action, redactor) };
  for (const [name, value] of Object.entries(event)) {
    if (name === 'action' || name === 'level' || isSensitiveField(name)) continue;
    const clean = sanitiseValue(value, redactor);
    if (clean === undefined) continue;
    record[JSON_RESERVED.has(name) ? `field_${name}` : name] = clean;
  }
  return record;
}

/**
 * Control characters as `#` + three octal digits, which is what rsyslog itself shows for
 * them: keeps a value with a newline on one line of a line-oriented transport, so it can
 * neither split a message nor forge a second one.
 */
export function escapeControlChars(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => `#${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/** Cut `text` to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const buf = Buffer.from(text).subarray(0, maxBytes);
  let end = buf.length;
  // step back over a partial multi-byte sequence
  let i = end - 1;
  while (i >= 0 && (buf[i]! & 0xc0) === 0x80) i--;
  if (i >= 0) {
    const lead = buf[i]!;
    const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (end - i < need) end = i;
  }
  return buf.subarray(0, end).toString();
}
