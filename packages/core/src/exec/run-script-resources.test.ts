// One test at a time: these count the process's open file descriptors and time runs.
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runScriptWith, type RunScriptOptions } from './run-script.js';
import type { FifoPool } from './fifo-pool.js';
import { buildStdinContext } from './stdin-context.js';
import { killQuietly, tempDir, testFifoPool, writeScript } from './test-helpers.js';

const CONTEXT = buildStdinContext({
  script: 'resources',
  args: ['x'],
  reqid: 'r-1',
  peer_ip: '127.0.0.1',
  username: 'alice',
  token: 't',
  dispatcher: 'd',
  timestamp: '2026-01-02T03:04:05Z',
});

function openFds(): string[] {
  return readdirSync('/proc/self/fd').sort((a, b) => Number(a) - Number(b));
}

function privatePool(t: TestContext): FifoPool {
  return testFifoPool(t).pool;
}

/** Let closes and background refills finish. */
async function quiet(pool: FifoPool): Promise<void> {
  await pool.idle();
  await sleep(50);
  await pool.idle();
}

describe('runScript: resources over many runs', () => {
  it('200 runs of every kind leave no FIFO behind and no file descriptor open', async (t) => {
    const pool = privatePool(t);
    const dir = tempDir(t);
    const pidfiles = ['timeout.pid', 'drain.pid'].map((n) => join(dir, n));
    t.after(() => pidfiles.forEach(killQuietly));
    const io = writeScript(dir, 'io.sh', 'cat; echo err >&2');
    const ignore = writeScript(dir, 'ignore.sh', 'exit 2');
    const reopen = writeScript(dir, 'reopen.sh', 'cat /dev/stdin > /dev/stderr; echo done > /dev/stdout');
    const missing = join(dir, 'missing.sh');
    const big = 'b'.repeat(256 * 1024);

    const quick = async (i: number): Promise<void> => {
      switch (i % 4) {
        case 0: {
          const r = await runScriptWith({ path: io, args: [], stdin: CONTEXT }, pool);
          assert.equal(r.stdout, CONTEXT);
          assert.equal(r.stderr, 'err\n');
          break;
        }
        case 1: {
          // Exits without reading: the parent's writes end with EPIPE.
          const r = await runScriptWith({ path: ignore, args: [], stdin: big }, pool);
          assert.equal(r.exit, 2);
          break;
        }
        case 2: {
          const r = await runScriptWith({ path: reopen, args: [], stdin: CONTEXT, timeoutMs: 5000 }, pool);
          assert.equal(r.stderr, CONTEXT);
          assert.equal(r.stdout, 'done\n');
          break;
        }
        default: {
          const r = await runScriptWith({ path: missing, args: [], stdin: CONTEXT }, pool);
          assert.equal(r.exit, 127);
        }
      }
    };

    for (let i = 0; i < 8; i++) await quick(i); // first use of every code path
    await quiet(pool);
    const before = openFds();

    for (let i = 0; i < 200; i++) await quick(i);
    // The slow endings, once each: exec timeout with a background child, drain
    // cut-off, stdin timeout, cancel, and a spawn refused before anything opens.
    const slow: RunScriptOptions[] = [
      { path: writeScript(dir, 'hang.sh', `sleep 30 & echo $! > '${pidfiles[0]}'; wait`), args: [], stdin: CONTEXT, timeoutMs: 300 },
      { path: writeScript(dir, 'daemon.sh', `sleep 30 & echo $! > '${pidfiles[1]}'; echo started`), args: [], stdin: '' },
      { path: writeScript(dir, 'slow-reader.sh', 'sleep 0.5; wc -c'), args: [], stdin: big.repeat(8), stdinTimeoutMs: 200 },
      { path: writeScript(dir, 'sleepy.sh', 'exec sleep 5'), args: [], stdin: CONTEXT, signal: AbortSignal.timeout(100) },
      { path: io, args: ['nul\0byte'], stdin: CONTEXT },
    ];
    const ends = await Promise.all(slow.map((o) => runScriptWith({ ...o, args: [...o.args] }, pool)));
    assert.deepEqual(
      ends.map((r) => r.exit),
      [126, 0, 0, 126, -1],
    );

    await quiet(pool);
    assert.deepEqual(openFds(), before, 'file descriptors leaked');
    // Only unused pool entries remain, all of them FIFOs.
    const poolDir = pool.status().dir!;
    const left = readdirSync(poolDir);
    assert.equal(left.length, pool.size);
    for (const name of left) assert.ok(lstatSync(join(poolDir, name)).isFIFO(), name);
  });
});
