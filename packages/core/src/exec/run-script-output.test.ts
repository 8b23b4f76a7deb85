import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DEFAULT_MAX_OUTPUT_BYTES, runScript } from './run-script.js';
import { omittedMarker } from './output-capture.js';
import { killQuietly, tempDir, writeScript } from './test-helpers.js';

describe('runScript: output capture', { concurrency: true }, () => {
  it('50 MB to stderr before any stdout: no deadlock, capped, true byte count, stdout intact', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'flood.sh', 'head -c 52428800 /dev/zero >&2; echo stdout-ok; echo tail-marker >&2');
    const r = await runScript({ path: script, args: [], stdin: '' });
    assert.equal(r.exit, 0);
    assert.equal(r.stdout, 'stdout-ok\n');
    assert.equal(r.stdoutBytes, 10);
    assert.equal(r.stderrBytes, 52428800 + 'tail-marker\n'.length);
    assert.equal(r.truncated, true);
    const marker = omittedMarker(r.stderrBytes - DEFAULT_MAX_OUTPUT_BYTES);
    assert.ok(r.stderr.includes(marker));
    assert.equal(r.stderr.length, DEFAULT_MAX_OUTPUT_BYTES + marker.length);
    assert.ok(r.stderr.endsWith('\0tail-marker\n'));
  });

  it('both streams flooded at once, each capped separately', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'both.sh', 'head -c 3000000 /dev/zero & head -c 2000000 /dev/zero >&2; wait');
    const r = await runScript({ path: script, args: [], stdin: '', maxOutputBytes: 4096 });
    assert.equal(r.exit, 0);
    assert.equal(r.stdoutBytes, 3000000);
    assert.equal(r.stderrBytes, 2000000);
    assert.equal(r.truncated, true);
    assert.ok(r.stdout.length <= 4096 + omittedMarker(3000000).length);
    assert.ok(r.stderr.length <= 4096 + omittedMarker(2000000).length);
  });

  it('head and tail of a long output are kept around the marker', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'lines.sh', 'echo FIRST; i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done; echo LAST');
    const r = await runScript({ path: script, args: [], stdin: '', maxOutputBytes: 200 });
    assert.equal(r.truncated, true);
    assert.ok(r.stdout.startsWith('FIRST\nline 0\n'));
    assert.ok(r.stdout.endsWith('line 1999\nLAST\n'));
    assert.ok(r.stdout.includes(omittedMarker(r.stdoutBytes - 200)));
    assert.equal(r.stderr, '');
  });

  it('output exactly at the cap is not truncated', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'exact.sh', 'head -c 1000 /dev/zero | tr "\\0" a');
    const r = await runScript({ path: script, args: [], stdin: '', maxOutputBytes: 1000 });
    assert.equal(r.truncated, false);
    assert.equal(r.stdout, 'a'.repeat(1000));
  });

  it('a background child that keeps stdout open does not hold the result (returns within ~2 s)', async (t) => {
    const dir = tempDir(t);
    const pidfile = join(dir, 'bg.pid');
    t.after(() => killQuietly(pidfile));
    const script = writeScript(dir, 'daemon.sh', 'sleep 30 & echo $! > "$1"; echo started; echo warn >&2; exit 0');
    const t0 = Date.now();
    const r = await runScript({ path: script, args: [pidfile], stdin: '' });
    const elapsed = Date.now() - t0;
    assert.equal(r.exit, 0);
    assert.equal(r.stdout, 'started\n');
    assert.equal(r.stderr, 'warn\n');
    assert.equal(r.timedOut, false);
    assert.ok(elapsed < 2000, `took ${elapsed} ms`);
  });

  it('a background child holding the pipes is cut off early when the exec timeout is near', async (t) => {
    const dir = tempDir(t);
    const pidfile = join(dir, 'bg.pid');
    t.after(() => killQuietly(pidfile));
    const script = writeScript(dir, 'daemon.sh', 'sleep 30 & echo $! > "$1"; echo started');
    const t0 = Date.now();
    const r = await runScript({ path: script, args: [pidfile], stdin: '', timeoutMs: 400 });
    assert.equal(r.exit, 0);
    assert.equal(r.timedOut, false);
    assert.equal(r.stdout, 'started\n');
    assert.ok(Date.now() - t0 < 5000, 'did not wait for the 30 s background child');
  });
});
