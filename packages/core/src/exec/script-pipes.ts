/**
 * Real pipes for a script's stdin, stdout and stderr, made from the FIFOs of a
 * FifoPool (why FIFOs: see fifo-pool.ts). Upstream gives scripts pipes, and
 * ordinary scripts rely on it: `echo x > /dev/stderr`, `cat /dev/stdin`,
 * `exec 2>/dev/stdout` and `tee /dev/stderr` reopen their own stdio through
 * /proc/self/fd, which works for a pipe and fails with ENXIO for a socket.
 *
 * How the ends are opened, given that Node has no fcntl, that nothing may block
 * the event loop, and that the script's ends must be in blocking mode (file status
 * flags such as O_NONBLOCK belong to the open file description, which a dup or an
 * inherited fd shares; a script whose stdin is non-blocking gets EAGAIN from read):
 *
 * - stdout and stderr: the parent opens the read end O_RDONLY|O_NONBLOCK, which
 *   never waits for a writer; then the script's write end O_WRONLY, in blocking
 *   mode, which returns at once because a reader now exists.
 * - stdin: the parent opens a probe O_RDONLY|O_NONBLOCK (never waits), then its
 *   own write end O_WRONLY|O_NONBLOCK (succeeds because the probe is a reader),
 *   then the script's read end O_RDONLY in blocking mode (returns at once because
 *   a writer exists), then closes the probe. Only POSIX FIFO rules are used; an
 *   O_RDWR open would also never wait, but only on Linux.
 *
 * Each end is a separate open file description, so the parent's non-blocking
 * flag never reaches the script (libuv also clears O_NONBLOCK on fds 0-2 in the
 * child after dup2; that acts on the whole description, which is one more reason
 * for the script's ends to be descriptions of their own). Node opens every file
 * with O_CLOEXEC, so the parent's ends are not inherited by the script or by any
 * other process started meanwhile. The parent's ends are wrapped in net.Socket,
 * which libuv treats as a pipe: non-blocking reads and writes on the event loop.
 * The parent's copies of the script's ends are closed once spawn has returned
 * (libuv waits for the exec, so the child holds its own copies by then).
 *
 * The stdout and stderr FIFOs are unlinked as soon as both ends are open: the open
 * fds keep the pipe alive, and once the parent's read end is closed (end of the
 * run, or the drain cut-off) no reader can ever appear again, so a background
 * child still writing gets EPIPE. The stdin FIFO keeps its name until the run
 * ends, for one difference between a FIFO and an anonymous pipe: opening a FIFO
 * for reading (what `cat /dev/stdin` does) waits until a writer exists, and the
 * parent closes its writer as soon as the context is written, usually before the
 * script gets to open /dev/stdin. So once the parent's writer is closed, it
 * briefly opens and closes a writer on that name from time to time ("pokes"):
 * that releases any such open, and the reader then sees the data still in the
 * pipe followed by EOF, as with a pipe. Pokes stop when nobody holds the
 * script's stdin any more (ENXIO) or when the run ends.
 *
 * The same rule has one effect left: a background process that outlives the run
 * and then opens /dev/stdout or /dev/stderr by name (rather than writing to its
 * fd, which gets EPIPE) waits in open, where with a pipe the open would succeed
 * and the write get EPIPE.
 */
import { closeSync, constants, fstatSync, openSync, unlinkSync } from 'node:fs';
import { Socket } from 'node:net';
import { FifoPool, type FifoPoolStatus } from './fifo-pool.js';

const { O_RDONLY, O_WRONLY, O_NONBLOCK, O_NOFOLLOW } = constants;

/** First poke after the parent's stdin writer closed; the delay then doubles up to POKE_MAX_MS. */
const POKE_FIRST_MS = 1;
const POKE_MAX_MS = 250;

/** Open errors meaning the pool's FIFOs are gone or unusable (rather than, say, EMFILE). */
const POOL_ERRORS: ReadonlySet<string> = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EACCES', 'EPERM', 'ENOTFIFO', 'ENXIO']);

export interface ScriptPipes {
  /** The script's ends (stdin read, stdout write, stderr write), for spawn's stdio option. */
  readonly childFds: [number, number, number];
  /** The parent's ends. */
  readonly stdin: Socket;
  readonly stdout: Socket;
  readonly stderr: Socket;
  /** Close the parent's copies of the script's ends; call once spawn has returned or thrown. Idempotent. */
  releaseChildEnds(): void;
  /** Release everything: the script's ends, the parent's streams, pokes, the stdin FIFO's name. Idempotent. */
  close(): void;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* cannot happen for an fd we own; nothing to do about it anyway */
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}

class FifoScriptPipes implements ScriptPipes {
  readonly childFds: [number, number, number];
  readonly stdin: Socket;
  readonly stdout: Socket;
  readonly stderr: Socket;
  #childEnds: number[] | undefined;
  #stdinPath: string | undefined;
  #pokeTimer: NodeJS.Timeout | undefined;
  #pokeDelay = POKE_FIRST_MS;
  #closed = false;

  constructor(childFds: [number, number, number], stdin: Socket, stdout: Socket, stderr: Socket, stdinPath: string) {
    this.childFds = childFds;
    this.#childEnds = [...childFds];
    this.stdin = stdin;
    this.stdout = stdout;
    this.stderr = stderr;
    this.#stdinPath = stdinPath;
    stdin.once('close', () => this.#schedulePoke());
  }

  releaseChildEnds(): void {
    const fds = this.#childEnds;
    this.#childEnds = undefined;
    for (const fd of fds ?? []) closeQuietly(fd);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.releaseChildEnds();
    if (this.#pokeTimer) clearTimeout(this.#pokeTimer);
    this.#pokeTimer = undefined;
    this.stdin.destroy();
    this.stdout.destroy();
    this.stderr.destroy();
    if (this.#stdinPath) unlinkQuietly(this.#stdinPath);
    this.#stdinPath = undefined;
  }

  #schedulePoke(): void {
    if (this.#closed || this.#pokeTimer) return;
    this.#pokeTimer = setTimeout(() => this.#poke(), this.#pokeDelay);
    this.#pokeTimer.unref();
  }

  /** Open and close a writer on the stdin FIFO, releasing a script blocked opening /dev/stdin. */
  #poke(): void {
    this.#pokeTimer = undefined;
    const path = this.#stdinPath;
    if (this.#closed || !path) return;
    let fd: number;
    try {
      // Non-blocking: fails with ENXIO instead of waiting when there is no reader left.
      fd = openSync(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW);
    } catch {
      return;
    }
    closeQuietly(fd);
    this.#pokeDelay = Math.min(this.#pokeDelay * 2, POKE_MAX_MS);
    this.#schedulePoke();
  }
}

/** Open the three FIFOs as described above; on any failure everything opened here is closed again. */
function openFifos(stdinPath: string, stdoutPath: string, stderrPath: string): ScriptPipes {
  /** fds opened here that neither a socket owns nor have been closed. */
  const raw = new Set<number>();
  const sockets: Socket[] = [];
  const open = (path: string, flags: number): number => {
    const fd = openSync(path, flags | O_NOFOLLOW);
    raw.add(fd);
    return fd;
  };
  const requireFifo = (fd: number, path: string): void => {
    if (!fstatSync(fd).isFIFO()) throw Object.assign(new Error(`not a FIFO: ${path}`), { code: 'ENOTFIFO' });
  };
  const wrap = (fd: number, readable: boolean): Socket => {
    const socket = new Socket({ fd, readable, writable: !readable });
    raw.delete(fd); // the socket closes it from now on
    sockets.push(socket);
    return socket;
  };
  try {
    const outRead = open(stdoutPath, O_RDONLY | O_NONBLOCK);
    requireFifo(outRead, stdoutPath);
    const outWrite = open(stdoutPath, O_WRONLY);
    const errRead = open(stderrPath, O_RDONLY | O_NONBLOCK);
    requireFifo(errRead, stderrPath);
    const errWrite = open(stderrPath, O_WRONLY);
    const probe = open(stdinPath, O_RDONLY | O_NONBLOCK);
    requireFifo(probe, stdinPath);
    const inWrite = open(stdinPath, O_WRONLY | O_NONBLOCK);
    const inRead = open(stdinPath, O_RDONLY);
    raw.delete(probe);
    closeSync(probe);
    const stdout = wrap(outRead, true);
    const stderr = wrap(errRead, true);
    const stdin = wrap(inWrite, false);
    raw.clear(); // the script's ends now belong to the ScriptPipes
    unlinkQuietly(stdoutPath);
    unlinkQuietly(stderrPath);
    return new FifoScriptPipes([inRead, outWrite, errWrite], stdin, stdout, stderr, stdinPath);
  } catch (err) {
    for (const socket of sockets) socket.destroy();
    for (const fd of raw) closeQuietly(fd);
    throw err;
  }
}

/**
 * Pipes for one run from `pool`, or undefined when the caller must fall back to
 * Node's own stdio: the pool is unavailable (it reports that itself), or this run
 * could not open its FIFOs (e.g. out of file descriptors). FIFOs found missing or
 * unusable make the pool start over once; if that fails too the pool is marked
 * unavailable.
 */
export function openScriptPipes(pool: FifoPool): ScriptPipes | undefined {
  for (let attempt = 0; attempt < 2; attempt++) {
    const paths = pool.take(3);
    if (!paths) return undefined;
    const [stdinPath, stdoutPath, stderrPath] = paths as [string, string, string];
    try {
      return openFifos(stdinPath, stdoutPath, stderrPath);
    } catch (err) {
      for (const path of paths) unlinkQuietly(path);
      const code = (err as NodeJS.ErrnoException)?.code;
      if (typeof code !== 'string' || !POOL_ERRORS.has(code)) return undefined;
      if (attempt === 0) pool.reset();
      else pool.fail(`FIFOs cannot be opened: ${code}`);
    }
  }
  return undefined;
}

let defaultPool: FifoPool | undefined;

export interface ScriptPipesOptions {
  /**
   * Where the private FIFO directory is made; default os.tmpdir() if it is a tmpfs,
   * else /dev/shm if that is a writable tmpfs, else os.tmpdir().
   */
  dir?: string;
  /**
   * Told once when FIFOs cannot be made and scripts run with Node's socket stdio
   * instead (again only if FIFOs worked in between). Runs never fail because of it.
   */
  onFallback?: (reason: string) => void;
}

/**
 * Set up the FIFO pool runScript uses, and fill it now so the first run does not
 * pay for it. Meant for start-up: a pool it replaces is removed, together with the
 * stdin names of runs still going (those runs lose only the /dev/stdin reopen help).
 */
export function prepareScriptPipes(options: ScriptPipesOptions = {}): FifoPoolStatus {
  defaultPool?.dispose();
  const poolOptions: ConstructorParameters<typeof FifoPool>[0] = {};
  if (options.dir !== undefined) poolOptions.parentDir = options.dir;
  if (options.onFallback) poolOptions.onUnavailable = options.onFallback;
  defaultPool = new FifoPool(poolOptions);
  return defaultPool.warm();
}

/** State of the pool runScript uses: 'idle' before the first run, 'ready', or 'unavailable' with a reason. */
export function scriptPipesStatus(): FifoPoolStatus {
  return defaultPool?.status() ?? { state: 'idle' };
}

/** The pool runScript uses, made with default options on first use. */
export function defaultFifoPool(): FifoPool {
  return (defaultPool ??= new FifoPool());
}
