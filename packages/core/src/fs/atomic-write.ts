import { randomBytes } from 'node:crypto';
import { open, rename, unlink, mkdir } from 'node:fs/promises';
import { openSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync, mkdirSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { CtrlExecError } from '../errors.js';

export interface AtomicWriteOptions {
  /** File mode, applied when the temp file is created (never chmod-ed later). Default 0o644. */
  mode?: number;
  /** Create the parent directory (mode 0o750) when missing. Default false. */
  mkdirParent?: boolean;
  /** fsync the file before the rename. Default true. */
  fsync?: boolean;
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

function fsError(path: string, err: unknown): CtrlExecError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
  return new CtrlExecError('CE_ERR_FS', `cannot write '${path}': ${code}`, { cause: err, details: { path, errno: code } });
}

/**
 * Write a whole file or nothing: the data goes to a temp file in the same directory,
 * created with its final mode (O_EXCL, so no one else's file is reused), then renamed
 * over the target. Readers see either the old or the new content, never a half.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const mode = options.mode ?? 0o644;
  if (options.mkdirParent) await mkdir(dirname(path), { recursive: true, mode: 0o750 });
  const tmp = tempPathFor(path);
  let handle;
  try {
    handle = await open(tmp, 'wx', mode);
    await handle.writeFile(data);
    if (options.fsync !== false) await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tmp, path);
  } catch (err) {
    if (handle) await handle.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw fsError(path, err);
  }
}

/** Synchronous twin of writeFileAtomic, for start-up paths and CLI commands. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const mode = options.mode ?? 0o644;
  if (options.mkdirParent) mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  const tmp = tempPathFor(path);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', mode);
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    if (options.fsync !== false) fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      /* nothing to clean */
    }
    throw fsError(path, err);
  }
}
