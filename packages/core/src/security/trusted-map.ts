/**
 * The agent's trusted-dispatcher map (wire-protocol §6.4,
 * `/var/lib/ctrl-exec-agent/ctrl-exec-dispatchers`): `<serial> <dispatcher id>` per
 * line, `#` comments. Serials are hex: canonical ones we wrote, or upstream's already
 * canonicalised values; a certificate matches under either reading (serialCandidates).
 */
import { readFileSync } from 'node:fs';
import { CtrlExecError } from '../errors.js';
import { writeFileAtomic, writeFileAtomicSync } from '../fs/atomic-write.js';
import { canonicalSerialHex, serialCandidates } from '../pki/serial.js';
import { stripComment, type SerialFileWarning } from './revocation.js';

const DISPATCHER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const TRUSTED_MAP_HEADER =
  '# ctrl-exec trusted dispatchers: <serial> <id>, one per line.\n# Managed by pairing - do not edit by hand.\n';

export function isValidDispatcherId(id: string): boolean {
  return DISPATCHER_ID.test(id);
}

function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** An immutable serial → dispatcher id map. */
export class TrustedMap {
  private readonly map: ReadonlyMap<string, string>;
  /** Lines skipped when the map was read. */
  readonly warnings: readonly SerialFileWarning[];

  /** `entries` hold canonical serials and valid ids (as readTrustedMap / with produce them). */
  constructor(entries: Iterable<readonly [string, string]> = [], warnings: SerialFileWarning[] = []) {
    this.map = new Map(entries);
    this.warnings = Object.freeze([...warnings]);
  }

  get size(): number {
    return this.map.size;
  }

  /** The dispatcher id trusted for a certificate serial, or undefined. */
  lookup(certSerial: string): string | undefined {
    if (this.map.size === 0) return undefined;
    let candidates: string[];
    try {
      candidates = serialCandidates(certSerial);
    } catch {
      return undefined;
    }
    for (const c of candidates) {
      const id = this.map.get(c);
      if (id !== undefined) return id;
    }
    return undefined;
  }

  /** `[serial, id]` pairs sorted by serial string. */
  entries(): Array<[string, string]> {
    return [...this.map.entries()].sort((a, b) => byString(a[0], b[0]));
  }

  /**
   * A copy with `serial` (hex, any form canonicalSerialHex takes) trusted as `id`,
   * replacing any entry for that serial. Throws CE_ERR_SERIAL_INVALID for a non-hex
   * serial and CE_ERR_BAD_REQUEST for an id the reader would reject.
   */
  with(serial: string, id: string): TrustedMap {
    const key = canonicalSerialHex(serial);
    if (!isValidDispatcherId(id)) {
      throw new CtrlExecError('CE_ERR_BAD_REQUEST', `invalid dispatcher id '${id}'`, { details: { id } });
    }
    const next = new Map(this.map);
    next.set(key, id);
    return new TrustedMap(next);
  }

  /** A copy without the entry for `serial` (exact canonical key; unchanged if absent or invalid). */
  without(serial: string): TrustedMap {
    let key: string;
    try {
      key = canonicalSerialHex(serial);
    } catch {
      return new TrustedMap(this.map);
    }
    const next = new Map(this.map);
    next.delete(key);
    return new TrustedMap(next);
  }
}

/** Parse map text; invalid lines are skipped and reported. */
export function parseTrustedMap(text: string): TrustedMap {
  const entries: Array<[string, string]> = [];
  const warnings: SerialFileWarning[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const entry = stripComment(raw);
    if (entry === '') return;
    const m = /^(\S+)\s+(.*)$/.exec(entry);
    if (!m) {
      warnings.push({ line: i + 1, entry, message: 'expected <serial> <id>' });
      return;
    }
    let serial: string;
    try {
      serial = canonicalSerialHex(m[1]!);
    } catch {
      warnings.push({ line: i + 1, entry, message: 'invalid serial' });
      return;
    }
    const id = m[2]!;
    if (!isValidDispatcherId(id)) {
      warnings.push({ line: i + 1, entry, message: 'invalid dispatcher id' });
      return;
    }
    entries.push([serial, id]);
  });
  return new TrustedMap(entries, warnings);
}

/** Read the map file; an absent file is an empty map. Other read failures throw CE_ERR_FS. */
export function readTrustedMap(path: string): TrustedMap {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return new TrustedMap();
    throw new CtrlExecError('CE_ERR_FS', `cannot read trusted dispatchers '${path}': ${code ?? String(err)}`, {
      cause: err,
      details: { path, errno: code },
    });
  }
  return parseTrustedMap(text);
}

/** The file content: header, then `<serial> <id>` lines sorted by serial string. */
export function formatTrustedMap(map: TrustedMap): string {
  return TRUSTED_MAP_HEADER + map.entries().map(([serial, id]) => `${serial} ${id}\n`).join('');
}

/** Replace the map file atomically (mode 0644, parent created if missing). */
export async function writeTrustedMap(path: string, map: TrustedMap): Promise<void> {
  await writeFileAtomic(path, formatTrustedMap(map), { mode: 0o644, mkdirParent: true });
}

export function writeTrustedMapSync(path: string, map: TrustedMap): void {
  writeFileAtomicSync(path, formatTrustedMap(map), { mode: 0o644, mkdirParent: true });
}

function addedMap(path: string, serial: string, id: string): TrustedMap | undefined {
  if (serial.trim() === '') return undefined;
  const current = readTrustedMap(path);
  return current.with(serial, id === '' ? canonicalSerialHex(serial) : id);
}

/**
 * Trust a dispatcher after pairing (wire-protocol §2.8): existing entries are kept; an
 * empty id means the serial is the id; an empty serial writes nothing. Returns the map
 * now on disk.
 */
export async function addTrustedDispatcher(path: string, serial: string, id: string): Promise<TrustedMap> {
  const next = addedMap(path, serial, id);
  if (!next) return readTrustedMap(path);
  await writeTrustedMap(path, next);
  return next;
}

export function addTrustedDispatcherSync(path: string, serial: string, id: string): TrustedMap {
  const next = addedMap(path, serial, id);
  if (!next) return readTrustedMap(path);
  writeTrustedMapSync(path, next);
  return next;
}
