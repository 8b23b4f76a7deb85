import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runScript } from './run-script.js';
import { buildStdinContext } from './stdin-context.js';
import { STDIN_CHUNK_BYTES } from './stdin-feeder.js';
import { tempDir, writeScript } from './test-helpers.js';

describe('runScript: stdin', { concurrency: true }, () => {
  it('the JSON context arrives exactly, followed by EOF', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'cat.sh', 'cat');
    const stdin = buildStdinContext({
      script: 'context-dump',
      args: ['; rm -rf /', 'ünï 🎉'],
      reqid: 'r-1',
      peer_ip: '127.0.0.1',
      username: 'alice',
      token: 'tok"en',
      dispatcher: 'disp-1',
      timestamp: '2026-01-02T03:04:05Z',
    });
    const r = await runScript({ path: script, args: [], stdin });
    assert.equal(r.exit, 0);
    assert.equal(r.stdout, stdin);
    assert.equal(r.stdoutBytes, Buffer.byteLength(stdin));
  });

  it('an empty stdin is an immediate EOF', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'count.sh', 'wc -c | tr -d " "');
    const r = await runScript({ path: script, args: [], stdin: '' });
    assert.equal(r.stdout, '0\n');
  });

  it('a script that exits without reading a 1 MB stdin returns its output normally', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'ignore.sh', 'echo ok');
    let stdinTimeouts = 0;
    const r = await runScript({ path: script, args: [], stdin: 'x'.repeat(1024 * 1024), onStdinTimeout: () => stdinTimeouts++ });
    assert.equal(r.exit, 0);
    assert.equal(r.stdout, 'ok\n');
    assert.equal(r.stderr, '');
    assert.equal(stdinTimeouts, 0);
  });

  it('a script that reads a little stdin, closes it and keeps going is fine', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'partial.sh', 'head -c 5; exec 0<&-; sleep 0.2; echo; echo done');
    const r = await runScript({ path: script, args: [], stdin: 'hello'.repeat(400_000) });
    assert.equal(r.exit, 0);
    assert.equal(r.stdout, 'hello\ndone\n');
  });

  it('a script that never reads stdin: pipe closed after stdinTimeoutMs, reported, script finishes normally', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'slow.sh', 'sleep 0.7; n=$(wc -c); echo "read $n"');
    const total = 8 * 1024 * 1024;
    const reports: number[] = [];
    const r = await runScript({ path: script, args: [], stdin: 'y'.repeat(total), stdinTimeoutMs: 300, onStdinTimeout: (n) => reports.push(n) });
    assert.equal(r.exit, 0);
    assert.equal(reports.length, 1);
    const unwritten = reports[0]!;
    assert.ok(unwritten > 0 && unwritten < total, `unwritten ${unwritten}`);
    const read = Number(/^read (\d+)\n$/.exec(r.stdout)?.[1]);
    // Bytes taken by the kernel reached the script; at most one write was in flight.
    assert.ok(read >= total - unwritten && read <= total - unwritten + STDIN_CHUNK_BYTES, `read ${read}, unwritten ${unwritten}`);
    assert.ok(r.durationMs >= 650);
  });

  it('a throwing onStdinTimeout does not break the run', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'slow.sh', 'sleep 0.5; echo fine');
    const r = await runScript({
      path: script,
      args: [],
      stdin: 'z'.repeat(8 * 1024 * 1024),
      stdinTimeoutMs: 200,
      onStdinTimeout: () => {
        throw new Error('boom');
      },
    });
    assert.equal(r.exit, 0);
    assert.equal(r.stdout, 'fine\n');
  });
});
