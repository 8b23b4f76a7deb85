/** Shared fixtures for the script-runner tests: throwaway dirs, real shell scripts, process checks. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestContext } from 'node:test';
import { FifoPool, defaultFifoParent, type FifoPoolOptions } from './fifo-pool.js';

export function tempDir(t: TestContext, prefix = 'ce-exec-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Write a `#!/bin/sh` script and return its absolute path. */
export function writeScript(dir: string, name: string, body: string, mode = 0o755): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode });
  return path;
}

/** True when `pid` no longer runs: gone, or a zombie nobody has reaped yet. */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

export async function waitGone(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (isGone(pid)) return true;
    await sleep(25);
  }
  return isGone(pid);
}

/** The pid a script wrote to `file`. */
export function readPid(file: string): number {
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isSafeInteger(pid) || pid <= 1) throw new Error(`bad pid in ${file}`);
  return pid;
}

/** Kill a leftover test process, ignoring one that is already gone. */
export function killQuietly(file: string): void {
  if (!existsSync(file)) return;
  try {
    process.kill(readPid(file), 'SIGKILL');
  } catch {
    /* gone */
  }
}

/**
 * A FifoPool in its own throwaway parent directory. One after-hook waits for a
 * background refill, disposes the pool and only then removes the directory.
 */
export function testFifoPool(t: TestContext, options: FifoPoolOptions = {}): { pool: FifoPool; parentDir: string } {
  const parentDir = mkdtempSync(join(defaultFifoParent(), 'ce-fifo-'));
  const pool = new FifoPool({ parentDir, ...options });
  t.after(async () => {
    await pool.idle();
    pool.dispose();
    rmSync(parentDir, { recursive: true, force: true });
  });
  return { pool, parentDir };
}
