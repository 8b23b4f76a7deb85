/**
 * The agent-side async store (wire-protocol §5.6, features 143-146): one record per
 * job at `<runs>/<owner>/<reqid>.json` (0640, replaced atomically), a per-script flock
 * at `<runs>/.locks/<script>.lock` held by the job process for the job's whole life,
 * and a 24-hour retention purged on each async submit.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { flockSync } from 'fs-ext';
import { ASYNC_REQID, writeFileAtomicSync, type AsyncRecord } from '@ctrl-exec/core';

export const RECORD_MODE = 0o640;
export const LOCK_MODE = 0o640;
export const RECORD_TTL_MS = 86_400_000;
export const LOCKS_DIR = '.locks';
/** Longest reqid used as a file name. */
export const MAX_REQID_LENGTH = 128;

/** A reqid that may name a record file. */
export function isStorableReqid(reqid: string): boolean {
  return reqid.length <= MAX_REQID_LENGTH && ASYNC_REQID.test(reqid);
}

/** `<runs>/<owner>/<reqid>.json`, or `<runs>/<reqid>.json` for an empty owner. */
export function recordPath(runsDir: string, owner: string, reqid: string): string {
  return owner === '' ? join(runsDir, `${reqid}.json`) : join(runsDir, owner, `${reqid}.json`);
}

export function lockName(script: string): string {
  return `${script.replace(/[^\w.-]/g, '_')}.lock`;
}

export function lockPath(runsDir: string, script: string): string {
  return join(runsDir, LOCKS_DIR, lockName(script));
}

/** Write a record atomically (0640), creating its directory (0750) when missing. */
export function writeRecord(path: string, record: AsyncRecord): void {
  writeFileAtomicSync(path, `${JSON.stringify(record)}\n`, { mode: RECORD_MODE, mkdirParent: true });
}

/** A stored record, or undefined when there is none (or it is unreadable). */
export function readRecord(path: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Owners (other than `owner`) holding a record for `reqid`. */
export function otherOwners(runsDir: string, owner: string, reqid: string): string[] {
  let names: string[];
  try {
    names = readdirSync(runsDir);
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const name of names) {
    if (name.startsWith('.') || name === owner || name.endsWith('.json')) continue;
    try {
      if (statSync(join(runsDir, name, `${reqid}.json`)).isFile()) found.push(name);
    } catch {
      /* not there */
    }
  }
  if (owner !== '') {
    try {
      if (statSync(join(runsDir, `${reqid}.json`)).isFile()) found.push('');
    } catch {
      /* not there */
    }
  }
  return found;
}

function purgeDir(dir: string, cutoff: number): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    const p = join(dir, name);
    try {
      const st = statSync(p);
      if (st.isFile() && st.mtimeMs < cutoff) {
        unlinkSync(p);
        removed++;
      }
    } catch {
      /* gone meanwhile */
    }
  }
  return removed;
}

/** Delete records whose mtime is older than the TTL. Returns how many went. */
export function purgeExpired(runsDir: string, now = Date.now(), ttlMs = RECORD_TTL_MS): number {
  const cutoff = now - ttlMs;
  let removed = purgeDir(runsDir, cutoff);
  let names: string[];
  try {
    names = readdirSync(runsDir, { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name);
  } catch {
    return removed;
  }
  for (const name of names) removed += purgeDir(join(runsDir, name), cutoff);
  return removed;
}

function isWouldBlock(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}

/**
 * Take the script's lock without waiting. Returns the open descriptor holding it, or
 * undefined when another job holds it. Throws on any other failure (CE_ERR_FS by the caller).
 */
export function tryLockScript(runsDir: string, script: string): number | undefined {
  mkdirSync(join(runsDir, LOCKS_DIR), { recursive: true, mode: 0o750 });
  const fd = openSync(lockPath(runsDir, script), 'a', LOCK_MODE);
  try {
    flockSync(fd, 'exnb');
    return fd;
  } catch (err) {
    closeSync(fd);
    if (isWouldBlock(err)) return undefined;
    throw err;
  }
}

/** Whether a job holds the script's lock right now. */
export function scriptBusy(runsDir: string, script: string): boolean {
  let fd: number;
  try {
    fd = openSync(lockPath(runsDir, script), 'r');
  } catch {
    return false;
  }
  try {
    flockSync(fd, 'exnb');
    return false;
  } catch (err) {
    return isWouldBlock(err);
  } finally {
    closeSync(fd);
  }
}
