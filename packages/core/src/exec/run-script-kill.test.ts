import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runScript } from './run-script.js';
import { killQuietly, readPid, tempDir, waitGone, writeScript } from './test-helpers.js';

const BACKGROUND_SLEEP = 'sleep 300 & echo $! > "$1"; echo started; wait';

describe('runScript: timeout and cancel', { concurrency: true }, () => {
  it('timeout kills the whole process group, background children included', async (t) => {
    const dir = tempDir(t);
    const pidfile = join(dir, 'bg.pid');
    t.after(() => killQuietly(pidfile));
    const script = writeScript(dir, 'hang.sh', BACKGROUND_SLEEP);
    const r = await runScript({ path: script, args: [pidfile], stdin: '', timeoutMs: 500 });
    assert.equal(r.timedOut, true);
    assert.equal(r.cancelled, false);
    assert.equal(r.exit, 126);
    assert.equal(r.signal, 'SIGTERM');
    assert.equal(r.stdout, 'started\n');
    assert.ok(r.durationMs >= 450 && r.durationMs < 2000, `duration ${r.durationMs}`);
    assert.equal(await waitGone(readPid(pidfile), 3000), true, 'background sleep survived');
  });

  it('a script that ignores SIGTERM is SIGKILLed after the grace period', async (t) => {
    const dir = tempDir(t);
    const pidfile = join(dir, 'bg.pid');
    t.after(() => killQuietly(pidfile));
    const script = writeScript(dir, 'stubborn.sh', `trap '' TERM; ${BACKGROUND_SLEEP}`);
    const r = await runScript({ path: script, args: [pidfile], stdin: '', timeoutMs: 300 });
    assert.equal(r.timedOut, true);
    assert.equal(r.exit, 126);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(r.durationMs >= 2200 && r.durationMs < 4500, `duration ${r.durationMs}`);
    assert.equal(await waitGone(readPid(pidfile), 3000), true, 'background sleep survived');
  });

  it('a script that turns SIGTERM into exit 0 still reports a timeout (126)', async (t) => {
    const dir = tempDir(t);
    const pidfile = join(dir, 'bg.pid');
    t.after(() => killQuietly(pidfile));
    const script = writeScript(dir, 'graceful.sh', `trap 'echo bye; exit 0' TERM; ${BACKGROUND_SLEEP}`);
    const r = await runScript({ path: script, args: [pidfile], stdin: '', timeoutMs: 300 });
    assert.equal(r.timedOut, true);
    assert.equal(r.exit, 126);
    assert.equal(r.signal, undefined);
    assert.equal(r.stdout, 'started\nbye\n');
  });

  it('AbortSignal cancel kills the group like a timeout, with cancelled set', async (t) => {
    const dir = tempDir(t);
    const pidfile = join(dir, 'bg.pid');
    t.after(() => killQuietly(pidfile));
    const script = writeScript(dir, 'hang.sh', BACKGROUND_SLEEP);
    const ac = new AbortController();
    const running = runScript({ path: script, args: [pidfile], stdin: '', signal: ac.signal, timeoutMs: 60_000 });
    await sleep(300);
    ac.abort();
    const r = await running;
    assert.equal(r.cancelled, true);
    assert.equal(r.timedOut, false);
    assert.equal(r.exit, 126);
    assert.equal(r.signal, 'SIGTERM');
    assert.equal(await waitGone(readPid(pidfile), 3000), true, 'background sleep survived');
  });

  it('an already-aborted signal starts nothing', async (t) => {
    const dir = tempDir(t);
    const marker = join(dir, 'ran');
    const script = writeScript(dir, 'touch.sh', `touch '${marker}'`);
    const r = await runScript({ path: script, args: [], stdin: '', signal: AbortSignal.abort() });
    assert.equal(r.cancelled, true);
    assert.equal(r.exit, 126);
    await sleep(100);
    assert.ok(!existsSync(marker));
  });

  it('a script finishing before its timeout or a later abort is unaffected', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'quick.sh', 'echo hi; exit 4');
    const ac = new AbortController();
    const r = await runScript({ path: script, args: [], stdin: '', timeoutMs: 5000, signal: ac.signal });
    ac.abort();
    assert.equal(r.exit, 4);
    assert.equal(r.timedOut, false);
    assert.equal(r.cancelled, false);
    assert.equal(r.stdout, 'hi\n');
  });

  it('huge or nonsense limits neither fire early nor throw', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'steady.sh', 'sleep 0.2; cat');
    for (const limit of [1e12, Number.POSITIVE_INFINITY, Number.NaN, -1, 0]) {
      const r = await runScript({ path: script, args: [], stdin: 'in', timeoutMs: limit, stdinTimeoutMs: limit, maxOutputBytes: limit });
      assert.equal(r.exit, 0, String(limit));
      assert.equal(r.timedOut, false);
      assert.equal(r.stdout, 'in');
    }
  });
});
