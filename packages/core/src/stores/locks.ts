/**
 * Dispatch locks (wire-protocol §5.4, DESIGN §3.2): one exclusive flock(2) per `host:script`
 * on `<locksDir>/<host>--<script>.lock`, held by an open file descriptor for the whole
 * dispatch. The kernel drops a flock when its descriptor closes, so a lock is released on
 * exit or crash of the holder and can never go stale. The same files and the same kind of
 * lock as upstream's Perl `flock`, so both implementations exclude each other.
 *
 * Lock files are never unlinked: removing a file another process may be about to flock
 * would let two processes hold "the" lock on two different inodes.
 */
import { closeSync, constants, fchmodSync, fstatSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { flockSync } from 'fs-ext';
import { CtrlExecError } from '../errors.js';

export interface LockPair {
  host: string;
  script: string;
}

export interface HeldLocks {
  /** The pairs held, deduplicated, in the order given. */
  readonly pairs: readonly LockPair[];
  /** Close every descriptor (releasing its flock). Safe to call more than once. */
  release(): void;
}

/** Mode of a lock file we create (shared by the root CLI and the unprivileged API via the group). */
export const LOCK_FILE_MODE = 0o660;
/** Mode of the locks directory when we have to create it. */
export const LOCKS_DIR_MODE = 0o770;

const SUFFIX = '.lock';
const SEPARATOR = '--';

/** Upstream's sanitising of each half of a lock file name: anything outside [\w.-] becomes `_`. */
export function sanitiseLockPart(part: string): string {
  return part.replace(/[^\w.-]/g, '_');
}

export function lockFileName(pair: LockPair): string {
  return `${sanitiseLockPart(pair.host)}${SEPARATOR}${sanitiseLockPart(pair.script)}${SUFFIX}`;
}

/** `host:script`, the form conflicts are reported in. */
export function lockLabel(pair: LockPair): string {
  return `${pair.host}:${pair.script}`;
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
}

function fsError(what: string, path: string, err: unknown): CtrlExecError {
  return new CtrlExecError('CE_ERR_FS', `cannot ${what} lock file '${path}': ${errnoOf(err)}`, {
    cause: err,
    details: { path, errno: errnoOf(err) },
  });
}

function isWouldBlock(err: unknown): boolean {
  const code = errnoOf(err);
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}

// O_NONBLOCK: a FIFO planted at a lock path must not hang the open. O_NOFOLLOW: never
// follow a symlink planted there. Node opens every descriptor close-on-exec, so scripts and
// hooks spawned while a lock is held do not inherit it.
const OPEN_EXISTING = constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const OPEN_EXISTING_RO = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const OPEN_CREATE = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_NONBLOCK;

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* nothing more to release */
  }
}

/** Open an existing lock file, read-write if we may, else read-only (flock needs neither). */
function openExisting(path: string): number {
  try {
    return openSync(path, OPEN_EXISTING);
  } catch (err) {
    if (errnoOf(err) !== 'EACCES') throw err;
    return openSync(path, OPEN_EXISTING_RO);
  }
}

/** Open (creating 0660 when absent) a lock file; refuses anything but a regular file. */
function openLockFile(path: string): number {
  let fd: number | undefined;
  for (let attempt = 0; fd === undefined; attempt++) {
    try {
      fd = openSync(path, OPEN_CREATE, LOCK_FILE_MODE);
      try {
        // The umask may have taken group write away; the file is shared through its group.
        fchmodSync(fd, LOCK_FILE_MODE);
      } catch {
        /* not fatal: the lock works whatever the mode */
      }
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw fsError('create', path, err);
      try {
        fd = openExisting(path);
      } catch (err2) {
        // Removed between our two opens: try again, a few times.
        if (errnoOf(err2) === 'ENOENT' && attempt < 5) continue;
        if (errnoOf(err2) === 'ELOOP') {
          throw new CtrlExecError('CE_ERR_FS', `lock file '${path}' is a symbolic link; refusing to use it`, { details: { path } });
        }
        throw fsError('open', path, err2);
      }
    }
  }
  let regular: boolean;
  try {
    regular = fstatSync(fd).isFile();
  } catch (err) {
    closeQuietly(fd);
    throw fsError('inspect', path, err);
  }
  if (!regular) {
    closeQuietly(fd);
    throw new CtrlExecError('CE_ERR_FS', `lock file '${path}' is not a regular file; refusing to use it`, { details: { path } });
  }
  return fd;
}

function ensureDir(locksDir: string): void {
  try {
    mkdirSync(locksDir, { recursive: true, mode: LOCKS_DIR_MODE });
  } catch (err) {
    throw new CtrlExecError('CE_ERR_FS', `cannot create locks directory '${locksDir}': ${errnoOf(err)}`, {
      cause: err,
      details: { path: locksDir, errno: errnoOf(err) },
    });
  }
}

/**
 * Take the lock of every pair, or none: on any conflict, whatever was taken is released
 * and CE_ERR_LOCKED is thrown with `details.conflicts` listing every `host:script` held
 * elsewhere. Never blocks. Pairs naming the same lock file are taken once.
 */
export function acquireLocks(locksDir: string, pairs: readonly LockPair[]): HeldLocks {
  ensureDir(locksDir);
  const wanted: Array<{ pair: LockPair; path: string }> = [];
  const seen = new Set<string>();
  for (const pair of pairs) {
    const name = lockFileName(pair);
    if (seen.has(name)) continue;
    seen.add(name);
    wanted.push({ pair: { host: pair.host, script: pair.script }, path: join(locksDir, name) });
  }

  const fds: number[] = [];
  const conflicts: string[] = [];
  const releaseAll = () => {
    for (const fd of fds.splice(0)) closeQuietly(fd);
  };
  try {
    for (const { pair, path } of wanted) {
      const fd = openLockFile(path);
      try {
        flockSync(fd, 'exnb');
      } catch (err) {
        closeQuietly(fd);
        if (isWouldBlock(err)) {
          conflicts.push(lockLabel(pair));
          continue;
        }
        throw fsError('lock', path, err);
      }
      fds.push(fd);
    }
  } catch (err) {
    releaseAll();
    throw err;
  }
  if (conflicts.length > 0) {
    releaseAll();
    throw new CtrlExecError('CE_ERR_LOCKED', `already running: ${conflicts.join(', ')}`, { details: { conflicts } });
  }

  let released = false;
  return {
    pairs: wanted.map((w) => w.pair),
    release(): void {
      if (released) return;
      released = true;
      releaseAll();
    },
  };
}

/** Split a lock file name back into host and script, at the first `--`. */
export function parseLockFileName(name: string): LockPair | undefined {
  if (!name.endsWith(SUFFIX) || name.startsWith('.')) return undefined;
  const stem = name.slice(0, -SUFFIX.length);
  const at = stem.indexOf(SEPARATOR);
  if (at <= 0 || at + SEPARATOR.length >= stem.length) return undefined;
  return { host: stem.slice(0, at), script: stem.slice(at + SEPARATOR.length) };
}

/**
 * The locks someone holds right now: lock files that cannot be flocked at this moment,
 * sorted by host then script. Probing takes each free lock for an instant, as upstream does.
 */
export function listHeldLocks(locksDir: string): LockPair[] {
  let names: string[];
  try {
    names = readdirSync(locksDir);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return [];
    throw new CtrlExecError('CE_ERR_FS', `cannot read locks directory '${locksDir}': ${errnoOf(err)}`, {
      cause: err,
      details: { path: locksDir, errno: errnoOf(err) },
    });
  }
  const held: LockPair[] = [];
  for (const name of names.sort()) {
    const pair = parseLockFileName(name);
    if (!pair) continue;
    let fd: number;
    try {
      fd = openExisting(join(locksDir, name));
    } catch {
      continue; // vanished, a symlink, or unreadable: not a lock we can judge
    }
    try {
      if (!fstatSync(fd).isFile()) continue;
      try {
        flockSync(fd, 'exnb');
      } catch (err) {
        if (isWouldBlock(err)) held.push(pair);
      }
    } finally {
      closeQuietly(fd);
    }
  }
  return held.sort((a, b) => (a.host === b.host ? cmp(a.script, b.script) : cmp(a.host, b.host)));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
