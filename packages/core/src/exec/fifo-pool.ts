/**
 * A private stock of ready-made FIFOs (named pipes) for script stdio.
 *
 * Node has no pipe(2) and no mkfifo(3): `spawn` with 'pipe' stdio hands the script
 * UNIX sockets, on which `echo x > /dev/stderr` or `cat /dev/stdin` fail with ENXIO.
 * A FIFO opened by both sides is a real pipe, but making one needs the `mkfifo`
 * program. Running it once per script would add a process to every run, so FIFOs
 * are made in batches (one `mkfifo` call with many names, no shell) and handed out
 * from this pool. Only when the pool is empty (first use, or a burst that outran
 * the refill) does the caller wait for a small batch; otherwise it is topped up in
 * the background (spawn without stdio) while a full batch is still in stock, so the
 * amortised cost per run is a small fraction of one process start.
 *
 * The FIFOs live in a directory made with mkdtemp (mode 0700, random name) below a
 * configured directory or defaultFifoParent(), each with mode 0600. Every name is
 * handed out once only and never made again, so a FIFO still held open by some
 * script's background child can never be given to another run. The directory is
 * removed when the process exits normally (process 'exit' event). Its name carries
 * the pid, so that directories left by processes that ended without cleaning up
 * (killed, crashed) can be swept away when a new one is made; /dev/shm has no temp
 * cleaner, and an agent in a restart loop would otherwise pile them up.
 *
 * When FIFOs cannot be made (no `mkfifo`, unwritable directory, a file system
 * without FIFOs) `take` returns undefined, the owner is told once through
 * `onUnavailable`, and a new attempt is made only after `retryMs`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, lstatSync, mkdtempSync, readdirSync, rmSync, rmdirSync, statSync, statfsSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SAFE_PATH } from './env.js';

/** FIFOs made per background `mkfifo` call (three per run). */
export const DEFAULT_FIFO_BATCH = 128;
/**
 * FIFOs made by a synchronous fill (the pool is empty). Kept small because the
 * event loop waits for it: making a FIFO costs a few microseconds on tmpfs but was
 * measured at 0.1 to 1 ms on a busy ext4.
 */
const SYNC_BATCH = 12;
/** After a failure, the pool stays unavailable this long before trying again. */
export const DEFAULT_FIFO_RETRY_MS = 30_000;
/** `mkfifo` never takes long; a hung one must not hold the caller. */
const MKFIFO_TIMEOUT_MS = 5_000;
const DIR_PREFIX = 'ctrl-exec-fifo-';
/** `ctrl-exec-fifo-<pid>-<mkdtemp suffix>` */
const DIR_PATTERN = /^ctrl-exec-fifo-(\d{1,10})-[A-Za-z0-9]{6}$/;
/** A leftover directory is swept only once it has been unchanged this long. */
const SWEEP_MIN_AGE_MS = 10 * 60 * 1000;
/** Parent directories already swept by this process. */
const swept = new Set<string>();

/** statfs f_type of tmpfs. */
const TMPFS_MAGIC = 0x01021994;
const SHM_DIR = '/dev/shm';

function onTmpfs(dir: string): boolean {
  try {
    return statfsSync(dir).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}

function writableDir(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Where the private directory goes by default: os.tmpdir() when it is a tmpfs,
 * else /dev/shm when that is a writable tmpfs, else os.tmpdir(). Making a FIFO in
 * memory costs a few microseconds; on a journaling disk file system it was measured
 * at 0.1 to 1 ms each, and unlinking competes with a batch being made.
 */
export function defaultFifoParent(): string {
  const tmp = tmpdir();
  if (onTmpfs(tmp)) return tmp;
  if (onTmpfs(SHM_DIR) && writableDir(SHM_DIR)) return SHM_DIR;
  return tmp;
}

export interface FifoPoolOptions {
  /** Where the private directory is made; default defaultFifoParent(). */
  parentDir?: string;
  /** FIFOs per background `mkfifo` call; default DEFAULT_FIFO_BATCH (at least 3, at most 999). */
  batchSize?: number;
  /** The `mkfifo` program, looked up in SAFE_PATH unless absolute. */
  mkfifo?: string;
  /** Default DEFAULT_FIFO_RETRY_MS. */
  retryMs?: number;
  /** Told once each time the pool becomes unavailable, with the reason. */
  onUnavailable?: (reason: string) => void;
}

export type FifoPoolState = 'idle' | 'ready' | 'unavailable';

export interface FifoPoolStatus {
  /** 'idle': nothing tried yet; 'ready': FIFOs can be made; 'unavailable': callers must do without. */
  state: FifoPoolState;
  /** The private directory, once made. */
  dir?: string;
  /** Why the pool is unavailable. */
  reason?: string;
}

/** Pools whose directory is removed when the process exits. */
const livePools = new Set<FifoPool>();
let exitHookInstalled = false;

function removeAllOnExit(): void {
  for (const pool of livePools) pool.dispose();
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Remove FIFO directories in `parent` left by processes that no longer exist. Only
 * what this code makes is touched: a real directory (no symlink) of this user with
 * mode 0700, a matching name whose pid is gone, unchanged for SWEEP_MIN_AGE_MS
 * (a pid from another PID namespace sharing the directory may look gone), holding
 * nothing but FIFOs; anything else is left alone.
 */
export function sweepLeftoverFifoDirs(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  const uid = process.geteuid?.();
  for (const name of names) {
    const pid = Number(DIR_PATTERN.exec(name)?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 1 || pid === process.pid || processExists(pid)) continue;
    const dir = join(parent, name);
    try {
      const st = lstatSync(dir);
      if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o7777) !== 0o700) continue;
      if (Date.now() - st.mtimeMs < SWEEP_MIN_AGE_MS) continue;
      const entries = readdirSync(dir);
      if (!entries.every((entry) => lstatSync(join(dir, entry)).isFIFO())) continue;
      for (const entry of entries) unlinkSync(join(dir, entry));
      rmdirSync(dir);
    } catch {
      /* changed underneath or not ours to remove: leave it */
    }
  }
}

/** Failing that, it is left to a background batch's completion or to the system's temp cleaner. */
function removeQuietly(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 5 });
  } catch {
    /* see above */
  }
}

/** A short reason for a failed `mkfifo` run (the full command line would list every name). */
function mkfifoFailure(program: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException & { status?: number | null; signal?: string | null; stderr?: Buffer | string };
  if (typeof e?.code === 'string') return `cannot run ${program}: ${e.code}`;
  const detail = String(e?.stderr ?? '').split('\n').find((l) => l.trim() !== '');
  const how = typeof e?.status === 'number' ? `exited with status ${e.status}` : e?.signal ? `was killed by ${e.signal}` : 'failed';
  return `${program} ${how}${detail ? `: ${detail.trim().slice(0, 200)}` : ''}`;
}

function clampInt(value: number | undefined, fallback: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, Math.floor(value)));
}

export class FifoPool {
  readonly #parentDir: string;
  readonly #batch: number;
  readonly #lowWater: number;
  readonly #mkfifo: string;
  readonly #retryMs: number;
  readonly #onUnavailable: ((reason: string) => void) | undefined;
  #dir: string | undefined;
  #free: string[] = [];
  #seq = 0;
  /** Bumped by reset/dispose: a background refill from an older generation is thrown away. */
  #generation = 0;
  #refill: Promise<void> | undefined;
  #refillChild: ChildProcess | undefined;
  #unavailable: { reason: string; retryAt: number } | undefined;
  #everReady = false;
  #disposed = false;

  constructor(options: FifoPoolOptions = {}) {
    this.#parentDir = options.parentDir ?? defaultFifoParent();
    this.#batch = clampInt(options.batchSize, DEFAULT_FIFO_BATCH, 3, 999);
    // Refill while a whole batch is still in stock: making one takes a while on a
    // disk file system, and running dry means a fill the event loop waits for.
    this.#lowWater = this.#batch;
    this.#mkfifo = options.mkfifo ?? 'mkfifo';
    this.#retryMs = clampInt(options.retryMs, DEFAULT_FIFO_RETRY_MS, 0, 24 * 3600 * 1000);
    this.#onUnavailable = options.onUnavailable;
  }

  /** FIFOs ready to hand out. */
  get size(): number {
    return this.#free.length;
  }

  status(): FifoPoolStatus {
    const out: FifoPoolStatus = { state: this.#unavailable ? 'unavailable' : this.#everReady ? 'ready' : 'idle' };
    if (this.#dir) out.dir = this.#dir;
    if (this.#unavailable) out.reason = this.#unavailable.reason;
    return out;
  }

  /**
   * `count` fresh FIFO paths, each for the caller alone, or undefined when FIFOs
   * cannot be made. Fills the pool synchronously only when it is empty (first use,
   * or a burst faster than the background refill). A background batch is started
   * by the next call, not by the one that filled: a process that runs a single
   * script (an async job) should not make a full batch for nothing.
   */
  take(count: number): string[] | undefined {
    if (this.#disposed || !Number.isSafeInteger(count) || count < 1 || count > this.#batch) return undefined;
    let filledNow = false;
    if (this.#free.length < count) {
      if (this.#unavailable && performance.now() < this.#unavailable.retryAt) return undefined;
      if (!this.#fillNow()) return undefined;
      filledNow = true;
    }
    const names = this.#free.splice(this.#free.length - count, count);
    if (!filledNow && this.#free.length < this.#lowWater) this.#fillInBackground();
    return names;
  }

  /** Make FIFOs now (e.g. at start-up), so the first run does not wait for them. */
  warm(): FifoPoolStatus {
    if (!this.#disposed && this.#free.length < this.#lowWater) {
      if (!this.#unavailable || performance.now() >= this.#unavailable.retryAt) {
        if (this.#fillNow()) this.#fillInBackground();
      }
    }
    return this.status();
  }

  /** Forget every FIFO made so far and the directory, e.g. after they were found missing. */
  reset(): void {
    this.#generation++;
    this.#free = [];
    // A batch still being made is of no use now, and would refill the directory
    // while it is removed (its completion cleans up, but not if the process exits).
    this.#refillChild?.kill('SIGKILL');
    const dir = this.#dir;
    this.#dir = undefined;
    if (dir) removeQuietly(dir);
  }

  /** FIFOs from this pool turned out unusable: forget them and stay unavailable for a while. */
  fail(reason: string): void {
    this.reset();
    this.#markUnavailable(reason);
  }

  /** Resolves once no background refill is running. */
  async idle(): Promise<void> {
    while (this.#refill) await this.#refill;
  }

  /** Remove the directory and every unused FIFO; later `take` calls return undefined. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    livePools.delete(this);
    this.reset();
  }

  #ensureDir(): string {
    if (this.#dir) return this.#dir;
    if (!swept.has(this.#parentDir)) {
      swept.add(this.#parentDir);
      sweepLeftoverFifoDirs(this.#parentDir);
    }
    // mkdtemp: a new directory with a random name and mode 0700.
    const dir = mkdtempSync(join(this.#parentDir, `${DIR_PREFIX}${process.pid}-`));
    this.#dir = dir;
    livePools.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', removeAllOnExit);
    }
    return dir;
  }

  #newNames(dir: string, count: number): string[] {
    const names: string[] = [];
    for (let i = 0; i < count; i++) names.push(join(dir, (++this.#seq).toString(36)));
    return names;
  }

  #mkfifoArgs(names: string[]): string[] {
    // -m sets the mode exactly (umask does not apply); `--` because names are data.
    return ['-m', '600', '--', ...names];
  }

  #execOptions() {
    return { cwd: '/', env: { PATH: SAFE_PATH, LC_ALL: 'C' }, timeout: MKFIFO_TIMEOUT_MS, windowsHide: true } as const;
  }

  /**
   * One small synchronous batch (a background one follows from the next take); on failure
   * one more try in a fresh directory (the old one may have been cleaned away).
   */
  #fillNow(): boolean {
    let reason = '';
    for (let attempt = 0; attempt < 2; attempt++) {
      if (attempt > 0) this.reset();
      let names: string[] = [];
      try {
        names = this.#newNames(this.#ensureDir(), Math.min(this.#batch, SYNC_BATCH));
        execFileSync(this.#mkfifo, this.#mkfifoArgs(names), { ...this.#execOptions(), stdio: ['ignore', 'ignore', 'pipe'] });
        this.#free.push(...names);
        this.#markReady();
        return true;
      } catch (err) {
        for (const name of names) unlinkQuietly(name);
        reason = names.length ? mkfifoFailure(this.#mkfifo, err) : `cannot create a private directory in ${this.#parentDir}: ${(err as NodeJS.ErrnoException)?.code ?? String(err)}`;
      }
    }
    this.#markUnavailable(reason);
    return false;
  }

  /** One asynchronous batch; a failure is left for the next synchronous fill to retry and report. */
  #fillInBackground(): void {
    if (this.#refill || this.#disposed || this.#unavailable) return;
    let dir: string;
    try {
      dir = this.#ensureDir();
    } catch {
      return;
    }
    const generation = this.#generation;
    const names = this.#newNames(dir, this.#batch);
    this.#refill = new Promise<void>((done) => {
      let ended = false;
      const end = (ok: boolean) => {
        if (ended) return;
        ended = true;
        this.#refill = undefined;
        this.#refillChild = undefined;
        if (!ok || generation !== this.#generation || this.#disposed) {
          for (const name of names) unlinkQuietly(name);
          // Removing the directory may have failed while this batch was being made.
          if (dir !== this.#dir) removeQuietly(dir);
        } else {
          this.#free.push(...names);
        }
        done();
      };
      try {
        // No stdio at all: nothing to read, and cheaper to start than execFile's pipes.
        const child = spawn(this.#mkfifo, this.#mkfifoArgs(names), { ...this.#execOptions(), stdio: 'ignore' });
        this.#refillChild = child;
        child.once('error', () => end(false));
        child.once('exit', (code) => end(code === 0));
      } catch {
        end(false);
      }
    });
  }

  #markReady(): void {
    this.#everReady = true;
    this.#unavailable = undefined;
  }

  #markUnavailable(reason: string): void {
    const already = this.#unavailable !== undefined;
    this.#unavailable = { reason, retryAt: performance.now() + this.#retryMs };
    if (already) return;
    try {
      this.#onUnavailable?.(reason);
    } catch {
      /* a reporting callback must not break a run */
    }
  }
}
