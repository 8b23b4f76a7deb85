import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runScript, runScriptWith } from './run-script.js';
import type { FifoPool, FifoPoolOptions } from './fifo-pool.js';
import { buildStdinContext } from './stdin-context.js';
import { STDIN_CHUNK_BYTES } from './stdin-feeder.js';
import { killQuietly, readPid, tempDir, testFifoPool, waitGone, writeScript } from './test-helpers.js';

const O_ACCMODE = 0o3;
const O_NONBLOCK = 0o4000;

const CONTEXT = buildStdinContext({
  script: 'pipes',
  args: ['a b', '$(id)', 'ünï 🎉'],
  reqid: 'r-42',
  peer_ip: '127.0.0.1',
  username: 'alice',
  token: 'tok"en\\',
  dispatcher: 'disp-1',
  timestamp: '2026-01-02T03:04:05Z',
});

function privatePool(t: TestContext, options: FifoPoolOptions = {}): FifoPool {
  return testFifoPool(t, options).pool;
}

/** `flags:` of /proc/PID/fdinfo/N lines printed by a script, as numbers (octal in the file). */
function fdFlags(text: string): number[] {
  return [...text.matchAll(/^flags:\s+([0-7]+)$/gm)].map((m) => parseInt(m[1]!, 8));
}

const SHOW_STDIO = `[ -p /dev/stdin ] && [ -p /dev/stdout ] && [ -p /dev/stderr ] && echo pipes; for fd in 0 1 2; do grep '^flags' /proc/$$/fdinfo/$fd; done`;

describe('runScript: stdin, stdout and stderr are real pipes', { concurrency: true }, () => {
  it('/dev/stdout and /dev/stderr can be opened by path', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'reopen.sh', 'echo out > /dev/stdout; echo err > /dev/stderr; printf more >> /dev/stdout; echo x 1>&2');
    const r = await runScript({ path: script, args: [], stdin: '' });
    assert.equal(r.exit, 0);
    assert.equal(r.stdout, 'out\nmore');
    assert.equal(r.stderr, 'err\nx\n');
  });

  it('cat /dev/stdin gets the exact JSON context, whether it opens it at once or late', async (t) => {
    const dir = tempDir(t);
    const early = writeScript(dir, 'early.sh', 'cat /dev/stdin');
    // By then the context is written and the writer closed: the open must still complete.
    const late = writeScript(dir, 'late.sh', 'sleep 0.4; cat /dev/stdin; echo; echo done');
    const afterEof = writeScript(dir, 'after-eof.sh', 'cat; sleep 0.2; cat /dev/stdin; read x < /dev/stdin; echo "end[$x]"');
    const [a, b, c] = await Promise.all([
      runScript({ path: early, args: [], stdin: CONTEXT }),
      // A limit, so a regression fails instead of hanging.
      runScript({ path: late, args: [], stdin: CONTEXT, timeoutMs: 5000 }),
      runScript({ path: afterEof, args: [], stdin: CONTEXT, timeoutMs: 5000 }),
    ]);
    assert.equal(a.exit, 0);
    assert.equal(a.stdout, CONTEXT);
    assert.equal(b.exit, 0);
    assert.equal(b.stdout, `${CONTEXT}\ndone\n`);
    assert.ok(b.durationMs < 1500, `late open took ${b.durationMs} ms`);
    assert.equal(c.exit, 0);
    assert.equal(c.stdout, `${CONTEXT}end[]\n`);
  });

  it('exec 2>/dev/stdout sends stderr into stdout, in order', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'merge.sh', 'echo a; exec 2>/dev/stdout; echo b >&2; echo c; ls /nonexistent-ce-path 2>&1 >/dev/null | wc -l >&2');
    const r = await runScript({ path: script, args: [], stdin: '' });
    assert.equal(r.exit, 0);
    assert.equal(r.stdout, 'a\nb\nc\n1\n');
    assert.equal(r.stderr, '');
  });

  it('tee /dev/stderr copies stdin to both streams', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'tee.sh', 'tee /dev/stderr');
    const r = await runScript({ path: script, args: [], stdin: CONTEXT });
    assert.equal(r.exit, 0);
    assert.equal(r.stdout, CONTEXT);
    assert.equal(r.stderr, CONTEXT);
  });

  it('all three are FIFOs; the script sees them in blocking mode with the right access mode', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'stdio.sh', SHOW_STDIO);
    const r = await runScript({ path: script, args: [], stdin: CONTEXT });
    assert.equal(r.exit, 0);
    assert.ok(r.stdout.startsWith('pipes\n'), r.stdout);
    const flags = fdFlags(r.stdout);
    assert.equal(flags.length, 3);
    assert.deepEqual(
      flags.map((f) => f & O_ACCMODE),
      [0, 1, 1],
    );
    for (const f of flags) assert.equal(f & O_NONBLOCK, 0, `O_NONBLOCK set: ${f.toString(8)}`);
  });

  it('byte-at-a-time and line-by-line readers get all of a stdin larger than the pipe buffer', async (t) => {
    const dir = tempDir(t);
    const lines = Array.from({ length: 20_000 }, (_, i) => `line-${String(i).padStart(5, '0')}`);
    const input = `${lines.join('\n')}\n`; // 240 000 bytes
    const script = writeScript(
      dir,
      'readers.sh',
      'dd bs=1 count=1100 2>/dev/null | wc -c; n=0; last=; while IFS= read -r l; do n=$((n+1)); last=$l; done; echo "$n $last"',
    );
    const r = await runScript({ path: script, args: [], stdin: input });
    assert.equal(r.exit, 0);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout.replace(/^ +/, ''), '1100\n19900 line-19999\n');
  });

  it("the script does not inherit the parent's ends of its pipes", async (t) => {
    const dir = tempDir(t);
    const script = writeScript(
      dir,
      'fds.sh',
      [
        'l0=$(readlink /proc/$$/fd/0); l1=$(readlink /proc/$$/fd/1); l2=$(readlink /proc/$$/fd/2)',
        'for f in /proc/$$/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] || continue; t=$(readlink "$f") || continue',
        '  case "$t" in "$l0"|"$l1"|"$l2") echo "extra end: fd $n -> $t";; esac; done; echo checked',
      ].join('\n'),
    );
    const r = await runScript({ path: script, args: [], stdin: '' });
    assert.equal(r.exit, 0);
    assert.equal(r.stdout, 'checked\n');
  });

  it('a background writer still holding stdout after the drain cut-off gets EPIPE instead of hanging', async (t) => {
    const dir = tempDir(t);
    const pidfile = join(dir, 'bg.pid');
    const marker = join(dir, 'wrote-late');
    t.after(() => killQuietly(pidfile));
    const script = writeScript(dir, 'late-writer.sh', `(sleep 1.5; echo late; touch '${marker}') & echo $! > '${pidfile}'; echo started`);
    const r = await runScript({ path: script, args: [], stdin: '' });
    assert.equal(r.exit, 0);
    assert.equal(r.stdout, 'started\n');
    assert.equal(await waitGone(readPid(pidfile), 4000), true, 'background writer still alive');
    assert.ok(!existsSync(marker), 'the late write succeeded or did not kill the writer');
  });

  it('after a stdin timeout a late cat /dev/stdin gets what is in the pipe, then EOF', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'slow.sh', 'sleep 0.6; cat /dev/stdin | wc -c');
    const reports: number[] = [];
    const total = 4 * 1024 * 1024;
    const r = await runScript({ path: script, args: [], stdin: 'q'.repeat(total), stdinTimeoutMs: 200, timeoutMs: 5000, onStdinTimeout: (n) => reports.push(n) });
    assert.equal(r.exit, 0);
    assert.equal(reports.length, 1);
    // Nothing was read before the timeout, so the pipe held what the kernel had taken.
    const read = Number(r.stdout.trim());
    const written = total - reports[0]!;
    assert.ok(read > 0 && read >= written && read <= written + STDIN_CHUNK_BYTES, `read ${read}, written ${written}`);
    assert.ok(r.durationMs < 2000, `took ${r.durationMs} ms`);
  });
});

describe('runScript: FIFO pool trouble', { concurrency: true }, () => {
  it('without mkfifo, runs fall back to socket stdio, behave as before, and the fallback is reported once', async (t) => {
    const reports: string[] = [];
    const pool = privatePool(t, { mkfifo: '/nonexistent/mkfifo', onUnavailable: (r) => reports.push(r) });
    const dir = tempDir(t);
    const stdio = writeScript(dir, 'stdio.sh', `${SHOW_STDIO}; echo end`);
    const io = writeScript(dir, 'io.sh', 'cat; echo err >&2; exit 3');
    const flood = writeScript(dir, 'flood.sh', 'head -c 3000000 /dev/zero >&2; echo ok');
    const [a, b, c] = await Promise.all([
      runScriptWith({ path: stdio, args: [], stdin: '' }, pool),
      runScriptWith({ path: io, args: [], stdin: CONTEXT }, pool),
      runScriptWith({ path: flood, args: [], stdin: '', maxOutputBytes: 1000 }, pool),
    ]);
    assert.equal(a.exit, 0);
    assert.ok(!a.stdout.startsWith('pipes\n'), a.stdout);
    assert.ok(a.stdout.endsWith('end\n'));
    assert.equal(b.exit, 3);
    assert.equal(b.stdout, CONTEXT);
    assert.equal(b.stderr, 'err\n');
    assert.equal(c.exit, 0);
    assert.equal(c.stdout, 'ok\n');
    assert.equal(c.stderrBytes, 3000000);
    assert.equal(c.truncated, true);
    assert.equal(reports.length, 1);
    assert.match(reports[0]!, /ENOENT/);
    assert.equal(pool.status().state, 'unavailable');
  });

  it('an mkfifo that makes regular files instead is caught: nothing is run on them, fallback reported', async (t) => {
    const dir = tempDir(t);
    const fake = writeScript(dir, 'fake-mkfifo', 'shift 3; for f in "$@"; do echo planted > "$f"; done');
    const reports: string[] = [];
    const { pool, parentDir } = testFifoPool(t, { mkfifo: fake, batchSize: 6, onUnavailable: (r) => reports.push(r) });
    const script = writeScript(dir, 'stdio.sh', `${SHOW_STDIO}; cat`);
    const r = await runScriptWith({ path: script, args: [], stdin: CONTEXT }, pool);
    assert.equal(r.exit, 0);
    assert.ok(!r.stdout.startsWith('pipes\n'), r.stdout);
    assert.ok(r.stdout.endsWith(CONTEXT));
    assert.equal(reports.length, 1);
    assert.match(reports[0]!, /ENOTFIFO/);
    // The planted files went with the pool's directory.
    assert.deepEqual(readdirSync(parentDir), []);
  });

  it('FIFOs removed underneath (temp cleaner) are replaced: the run still gets pipes, nothing reported', async (t) => {
    const reports: string[] = [];
    const pool = privatePool(t, { batchSize: 12, onUnavailable: (r) => reports.push(r) });
    const dir = tempDir(t);
    const script = writeScript(dir, 'stdio.sh', `${SHOW_STDIO}; cat`);
    const first = await runScriptWith({ path: script, args: [], stdin: 'one' }, pool);
    assert.ok(first.stdout.startsWith('pipes\n'));
    await pool.idle();
    rmSync(pool.status().dir!, { recursive: true });
    const second = await runScriptWith({ path: script, args: [], stdin: 'two' }, pool);
    assert.equal(second.exit, 0);
    assert.ok(second.stdout.startsWith('pipes\n'), second.stdout);
    assert.ok(second.stdout.endsWith('two'));
    assert.deepEqual(reports, []);
  });

  it('socket stdio on request (null pool) still runs everything', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'stdio.sh', `${SHOW_STDIO}; cat; exit 7`);
    const r = await runScriptWith({ path: script, args: [], stdin: CONTEXT }, null);
    assert.equal(r.exit, 7);
    assert.ok(!r.stdout.startsWith('pipes\n'), r.stdout);
    assert.ok(r.stdout.endsWith(CONTEXT));
  });
});
