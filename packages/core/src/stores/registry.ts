/**
 * The dispatcher's agent registry: one JSON file per agent, `<registryDir>/<name>.json`,
 * in upstream's record format (wire-protocol §5.1). Writes are atomic.
 */
import { readdirSync, readFileSync, unlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { CtrlExecError } from '../errors.js';
import { writeFileAtomicSync } from '../fs/atomic-write.js';

export type LookupBy = 'ip' | 'hostname';
export type SerialStatus = 'current' | 'pending' | 'stale' | 'unknown' | 'confirmed';

export interface AgentRecord {
  hostname: string;
  ip: string;
  paired: string;
  expiry: string;
  reqid: string;
  lookup_by: LookupBy;
  port: number;
  tags: Record<string, string>;
  dispatcher_serial: string;
  serial_status: SerialStatus | string;
  serial_broadcast: string;
  serial_confirmed: string;
  [extra: string]: unknown;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function isValidAgentName(name: string): boolean {
  return NAME.test(name) && name.length <= 253;
}

function assertName(name: string): void {
  if (!isValidAgentName(name)) {
    throw new CtrlExecError('CE_ERR_BAD_REQUEST', `invalid agent name '${name}' (use letters, digits, '.', '-', '_')`, { details: { name } });
  }
}

/** Normalise a record read from disk: upstream tolerates odd values, so do we. */
function normalise(raw: Record<string, unknown>, name: string): AgentRecord {
  const port = Number(raw.port);
  const tags: Record<string, string> = {};
  if (raw.tags && typeof raw.tags === 'object' && !Array.isArray(raw.tags)) {
    for (const [k, v] of Object.entries(raw.tags as Record<string, unknown>)) tags[k] = String(v);
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
  return {
    ...raw,
    hostname: str(raw.hostname) || name,
    ip: str(raw.ip),
    paired: str(raw.paired),
    expiry: str(raw.expiry),
    reqid: str(raw.reqid),
    lookup_by: raw.lookup_by === 'ip' ? 'ip' : 'hostname',
    port: Number.isInteger(port) && port >= 1 && port <= 65535 ? port : 7443,
    tags,
    dispatcher_serial: str(raw.dispatcher_serial),
    serial_status: str(raw.serial_status) || 'unknown',
    serial_broadcast: str(raw.serial_broadcast),
    serial_confirmed: str(raw.serial_confirmed),
  };
}

export class Registry {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  pathOf(name: string): string {
    assertName(name);
    return join(this.dir, `${name}.json`);
  }

  /** Agent names from file names alone (no JSON parse), sorted. */
  names(): string[] {
    let files: string[];
    try {
      files = readdirSync(this.dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return [];
      if (code === 'EACCES' || code === 'EPERM') {
        throw new CtrlExecError('CE_ERR_FS', 'Cannot access agent registry: permission denied.', { cause: err, details: { path: this.dir } });
      }
      throw new CtrlExecError('CE_ERR_FS', `Cannot access agent registry: ${code}`, { cause: err });
    }
    return files
      .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
      .map((f) => f.slice(0, -5))
      .filter(isValidAgentName)
      .sort();
  }

  has(name: string): boolean {
    return isValidAgentName(name) && existsSync(this.pathOf(name));
  }

  get(name: string): AgentRecord | undefined {
    if (!isValidAgentName(name)) return undefined;
    let text: string;
    try {
      text = readFileSync(this.pathOf(name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CtrlExecError('CE_ERR_FS', `cannot read registry record for '${name}': ${(err as NodeJS.ErrnoException).code}`, { cause: err });
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new CtrlExecError('CE_ERR_FS', `registry record for '${name}' is not valid JSON (${this.pathOf(name)})`, { cause: err });
    }
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new CtrlExecError('CE_ERR_FS', `registry record for '${name}' is not a JSON object (${this.pathOf(name)})`);
    }
    return normalise(raw as Record<string, unknown>, name);
  }

  /** Every readable record, sorted by name; unreadable records are reported, not fatal. */
  list(onError?: (name: string, err: CtrlExecError) => void): AgentRecord[] {
    const out: AgentRecord[] = [];
    for (const name of this.names()) {
      try {
        const rec = this.get(name);
        if (rec) out.push(rec);
      } catch (err) {
        if (onError && err instanceof CtrlExecError) onError(name, err);
        else throw err;
      }
    }
    return out;
  }

  put(record: AgentRecord): void {
    writeFileAtomicSync(this.pathOf(record.hostname), `${JSON.stringify(record)}\n`, { mode: 0o644, mkdirParent: true });
  }

  /** Read-modify-write of one record; throws CE_ERR_NOT_FOUND when absent. */
  update(name: string, change: (rec: AgentRecord) => AgentRecord): AgentRecord {
    const rec = this.get(name);
    if (!rec) throw new CtrlExecError('CE_ERR_NOT_FOUND', `No registry entry for '${name}'`, { details: { name } });
    const next = change({ ...rec, tags: { ...rec.tags } });
    if (next.hostname !== name) {
      if (this.has(next.hostname)) throw new CtrlExecError('CE_ERR_BAD_REQUEST', `agent '${next.hostname}' already exists`);
      this.put(next);
      unlinkSync(this.pathOf(name));
    } else {
      this.put(next);
    }
    return next;
  }

  remove(name: string): AgentRecord {
    const rec = this.get(name);
    if (!rec) throw new CtrlExecError('CE_ERR_NOT_FOUND', `No registry entry for '${name}'`, { details: { name } });
    unlinkSync(this.pathOf(name));
    return rec;
  }
}

/** Parse a `--tags k=v[,k2=v2]` filter. */
export function parseTagFilter(spec: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of spec.split(',')) {
    const item = part.trim();
    const m = /^([^=\s]+)=(.*)$/.exec(item);
    if (!m) throw new CtrlExecError('CE_ERR_USAGE', `invalid tag filter '${item}' (expected key=value)`);
    out[m[1]!] = m[2]!.trim();
  }
  return out;
}

export function matchesTags(record: AgentRecord, filter: Record<string, string>): boolean {
  return Object.entries(filter).every(([k, v]) => record.tags[k] === v);
}
