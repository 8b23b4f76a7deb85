/**
 * The dispatcher's pairing queue (wire-protocol §2.5-2.6): `<dir>/<reqid>.json` per pending
 * request, `<reqid>.approved` / `<reqid>.denied` holding the verdict body the waiting
 * listener delivers. Shared between the listener process and the approve/deny commands.
 */
import { readdirSync, readFileSync, statSync, unlinkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CtrlExecError } from '../errors.js';
import { writeFileAtomicSync } from '../fs/atomic-write.js';

export interface PairingRequest {
  id: string;
  hostname: string;
  ip: string;
  source_ip: string;
  csr: string;
  nonce: string;
  lookup_by: 'ip' | 'hostname' | null;
  port: number | null;
  received: string;
  code: string;
  reverse_dns: string;
  reverse_confirmed: 0 | 1;
}

export type Verdict =
  | { status: 'approved'; cert: string; ca: string; nonce: string; dispatcher_serial: string; dispatcher_id: string }
  | { status: 'denied'; reason: string };

export const PAIRING_REQUEST_TTL_MS = 600_000;
const ID = /^[a-f0-9]{16}$/;

export function isValidPairingId(id: string): boolean {
  return ID.test(id);
}

function ignoreMissing(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export class PairingQueue {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o750 });
  }

  #path(id: string, ext: 'json' | 'approved' | 'denied'): string {
    if (!isValidPairingId(id)) throw new CtrlExecError('CE_ERR_NOT_FOUND', `No pending request '${id}'`, { details: { id } });
    return join(this.dir, `${id}.${ext}`);
  }

  #files(): string[] {
    try {
      return readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new CtrlExecError('CE_ERR_FS', `cannot read pairing queue ${this.dir}: ${(err as NodeJS.ErrnoException).code}`, { cause: err });
    }
  }

  /** Delete requests older than the TTL that have no verdict; returns the ids removed. */
  expireStale(now: number = Date.now(), ttlMs: number = PAIRING_REQUEST_TTL_MS): string[] {
    const files = new Set(this.#files());
    const removed: string[] = [];
    for (const f of files) {
      if (!f.endsWith('.json')) continue;
      const id = f.slice(0, -5);
      if (!isValidPairingId(id)) continue;
      if (files.has(`${id}.approved`) || files.has(`${id}.denied`)) continue;
      try {
        if (now - statSync(join(this.dir, f)).mtimeMs > ttlMs) {
          unlinkSync(join(this.dir, f));
          removed.push(id);
        }
      } catch {
        /* raced with another process */
      }
    }
    return removed;
  }

  /** Pending requests (no verdict yet), oldest first. */
  pending(): PairingRequest[] {
    const files = new Set(this.#files());
    const out: Array<{ req: PairingRequest; mtime: number }> = [];
    for (const f of files) {
      if (!f.endsWith('.json')) continue;
      const id = f.slice(0, -5);
      if (!isValidPairingId(id) || files.has(`${id}.approved`) || files.has(`${id}.denied`)) continue;
      const req = this.get(id);
      if (!req) continue;
      let mtime = 0;
      try {
        mtime = statSync(join(this.dir, f)).mtimeMs;
      } catch {
        continue; // settled meanwhile
      }
      out.push({ req, mtime });
    }
    // `received` has one-second resolution; the file time orders requests within a second
    return out
      .sort((a, b) => a.req.received.localeCompare(b.req.received) || a.mtime - b.mtime || a.req.id.localeCompare(b.req.id))
      .map((e) => e.req);
  }

  count(): number {
    return this.#files().filter((f) => f.endsWith('.json') && isValidPairingId(f.slice(0, -5))).length;
  }

  get(id: string): PairingRequest | undefined {
    if (!isValidPairingId(id)) return undefined;
    try {
      return JSON.parse(readFileSync(this.#path(id, 'json'), 'utf8')) as PairingRequest;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  add(req: PairingRequest): void {
    this.ensureDir();
    writeFileAtomicSync(this.#path(req.id, 'json'), `${JSON.stringify(req)}\n`, { mode: 0o640 });
  }

  setVerdict(id: string, verdict: Verdict): void {
    writeFileAtomicSync(this.#path(id, verdict.status === 'approved' ? 'approved' : 'denied'), JSON.stringify(verdict), { mode: 0o640 });
    if (verdict.status === 'denied') ignoreMissing(() => unlinkSync(this.#path(id, 'json')));
  }

  verdict(id: string): Verdict | undefined {
    for (const ext of ['approved', 'denied'] as const) {
      try {
        return JSON.parse(readFileSync(this.#path(id, ext), 'utf8')) as Verdict;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
    }
    return undefined;
  }

  /** Remove every file of a request (after delivery, timeout or abandonment). */
  remove(id: string): void {
    for (const ext of ['json', 'approved', 'denied'] as const) ignoreMissing(() => unlinkSync(this.#path(id, ext)));
  }
}
