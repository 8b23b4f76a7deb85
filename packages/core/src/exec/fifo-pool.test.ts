import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultFifoParent, type FifoPool, type FifoPoolOptions } from './fifo-pool.js';
import { prepareScriptPipes, scriptPipesStatus } from './script-pipes.js';
import { tempDir, testFifoPool, writeScript } from './test-helpers.js';

function pool(t: TestContext, options: FifoPoolOptions = {}): FifoPool {
  return testFifoPool(t, options).pool;
}

/** A stand-in for mkfifo that logs each call and fails while `<dir>/fail` exists. */
function flakyMkfifo(dir: string): { program: string; calls: () => number; failing: (on: boolean) => void } {
  const log = join(dir, 'calls');
  const fail = join(dir, 'fail');
  const program = writeScript(dir, 'flaky-mkfifo', `echo x >> '${log}'\n[ -e '${fail}' ] && { echo 'no FIFOs today' >&2; exit 3; }\nexec mkfifo "$@"`);
  return {
    program,
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0),
    failing: (on) => (on ? writeFileSync(fail, '') : unlinkSync(fail)),
  };
}

describe('FifoPool', { concurrency: true }, () => {
  it('makes FIFOs in batches, in a private 0700 directory, each 0600, never handing out a name twice', (t) => {
    const { pool: p, parentDir: parent } = testFifoPool(t, { batchSize: 9 });
    assert.equal(p.status().state, 'idle');
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const names = p.take(3);
      assert.ok(names);
      assert.equal(names.length, 3);
      for (const name of names) {
        assert.ok(!seen.has(name), `${name} handed out twice`);
        seen.add(name);
        const st = statSync(name);
        assert.ok(st.isFIFO());
        assert.equal(st.mode & 0o777, 0o600);
      }
    }
    const status = p.status();
    assert.equal(status.state, 'ready');
    assert.ok(status.dir && dirname(status.dir) === parent);
    assert.equal(statSync(status.dir).mode & 0o777, 0o700);
  });

  it('fills a small batch at once when empty, then tops itself up in the background when low', async (t) => {
    const p = pool(t, { batchSize: 60 });
    const taken = [...p.take(3)!];
    // 12 made synchronously, 3 handed out; no background batch yet (a one-run process needs none).
    assert.equal(p.size, 9);
    await p.idle();
    assert.equal(p.size, 9);
    // The second call finds the stock below one batch and starts one.
    taken.push(...p.take(3)!);
    assert.equal(p.size, 6);
    await p.idle();
    assert.equal(p.size, 66);
    while (p.size > 57) taken.push(...p.take(3)!);
    assert.equal(p.size, 57);
    await p.idle();
    assert.equal(p.size, 117);
    // The taken ones are the caller's to unlink.
    assert.equal(readdirSync(p.status().dir!).length, 117 + taken.length);
    assert.equal(new Set(taken).size, taken.length);
  });

  it('dispose removes the directory and unused FIFOs; a background batch finishing later leaves nothing', async (t) => {
    const { pool: p, parentDir: parent } = testFifoPool(t, { batchSize: 6 });
    p.take(3);
    p.take(3); // starts a background batch
    const dir = p.status().dir!;
    p.dispose();
    await p.idle();
    assert.ok(!existsSync(dir));
    assert.deepEqual(readdirSync(parent), []);
    assert.equal(p.take(3), undefined);
  });

  it('hostile counts are refused without side effects', (t) => {
    const { pool: p, parentDir: parent } = testFifoPool(t, { batchSize: 6 });
    for (const n of [0, -1, Number.NaN, 1.5, Number.POSITIVE_INFINITY, 7, 1e9]) assert.equal(p.take(n), undefined, String(n));
    assert.deepEqual(readdirSync(parent), []);
  });

  it('without mkfifo: unavailable, reported once with the reason, not retried before retryMs', async (t) => {
    const reports: string[] = [];
    const p = pool(t, { mkfifo: '/nonexistent/mkfifo', retryMs: 60_000, onUnavailable: (r) => reports.push(r) });
    for (let i = 0; i < 5; i++) assert.equal(p.take(3), undefined);
    assert.equal(reports.length, 1);
    assert.match(reports[0]!, /ENOENT/);
    assert.equal(p.status().state, 'unavailable');
    assert.equal(p.status().reason, reports[0]);
  });

  it('mkfifo failing, then working again after retryMs: one report per outage, no calls in between', async (t) => {
    const dir = tempDir(t);
    const fake = flakyMkfifo(dir);
    const reports: string[] = [];
    const p = pool(t, { mkfifo: fake.program, batchSize: 6, retryMs: 300, onUnavailable: (r) => reports.push(r) });
    fake.failing(true);
    assert.equal(p.take(3), undefined);
    assert.deepEqual(reports, [`${fake.program} exited with status 3: no FIFOs today`]);
    const callsAfterFailure = fake.calls();
    assert.equal(callsAfterFailure, 2); // the batch and one retry in a fresh directory
    fake.failing(false);
    assert.equal(p.take(3), undefined);
    assert.equal(fake.calls(), callsAfterFailure, 'retried before retryMs');
    await sleep(350);
    assert.ok(p.take(3));
    assert.equal(p.status().state, 'ready');
    assert.equal(p.status().reason, undefined);
    p.reset();
    fake.failing(true);
    await sleep(10);
    assert.equal(p.take(3), undefined);
    assert.equal(reports.length, 2);
  });

  it('an unusable parent directory is reported as such', (t) => {
    const base = tempDir(t);
    const file = join(base, 'file');
    writeFileSync(file, '');
    const cases: Array<[string, RegExp]> = [
      [join(base, 'missing'), /ENOENT/],
      [file, /ENOTDIR/],
      [`${base}/nul\0byte`, /ERR_INVALID_ARG/],
    ];
    for (const [parentDir, why] of cases) {
      const reports: string[] = [];
      const p = pool(t, { parentDir, onUnavailable: (r) => reports.push(r) });
      assert.equal(p.take(3), undefined);
      assert.equal(reports.length, 1);
      assert.match(reports[0]!, /^cannot create a private directory in /);
      assert.match(reports[0]!, why);
    }
    assert.deepEqual(readdirSync(base), ['file']);
  });

  it('defaultFifoParent is a writable directory: os.tmpdir() or /dev/shm', () => {
    const dir = defaultFifoParent();
    assert.ok([tmpdir(), '/dev/shm'].includes(dir), dir);
    assert.ok(statSync(dir).isDirectory());
  });

  it('a directory removed underneath (temp cleaner) is replaced by the next fill, without a report', (t) => {
    const reports: string[] = [];
    const p = pool(t, { batchSize: 3, onUnavailable: (r) => reports.push(r) });
    assert.ok(p.take(3)); // stock now empty, directory kept
    const first = p.status().dir!;
    rmSync(first, { recursive: true });
    const names = p.take(3); // fails in the old directory, starts over in a fresh one
    assert.ok(names);
    assert.ok(statSync(names[0]!).isFIFO());
    assert.notEqual(p.status().dir, first);
    assert.deepEqual(reports, []);
    assert.equal(p.status().state, 'ready');
  });

  it('sweeps directories left by processes that are gone, and nothing else', (t) => {
    const { pool: p, parentDir } = testFifoPool(t, { batchSize: 3 });
    const gone = 2147483646; // no such process
    const old = new Date(Date.now() - 3600_000);
    const make = (name: string, opts: { mode?: number; fifos?: number; file?: boolean; mtime?: Date } = {}): string => {
      const dir = join(parentDir, name);
      mkdirSync(dir);
      const fifos = Array.from({ length: opts.fifos ?? 2 }, (_, i) => join(dir, `f${i}`));
      if (fifos.length) execFileSync('mkfifo', fifos);
      if (opts.file) writeFileSync(join(dir, 'notes'), 'keep me');
      chmodSync(dir, opts.mode ?? 0o700);
      utimesSync(dir, opts.mtime ?? old, opts.mtime ?? old);
      return dir;
    };
    const swept = [make(`ctrl-exec-fifo-${gone}-abcDE1`), make(`ctrl-exec-fifo-${gone}-emptyA`, { fifos: 0 })];
    const target = make('not-a-pool-dir');
    symlinkSync(target, join(parentDir, `ctrl-exec-fifo-${gone}-link01`));
    const kept = [
      make(`ctrl-exec-fifo-${process.pid}-mine01`),
      make(`ctrl-exec-fifo-${process.ppid}-parent`),
      make(`ctrl-exec-fifo-${gone}-young1`, { mtime: new Date() }),
      make(`ctrl-exec-fifo-${gone}-file01`, { file: true }),
      make(`ctrl-exec-fifo-${gone}-mode01`, { mode: 0o755 }),
      make(`ctrl-exec-fifo-x${gone}-abcdef`),
      make(`ctrl-exec-fifo-1-init01`),
      target,
      join(parentDir, `ctrl-exec-fifo-${gone}-link01`),
    ];
    assert.ok(p.take(3)); // the first directory made sweeps its parent
    for (const dir of swept) assert.ok(!existsSync(dir), `${dir} not swept`);
    for (const dir of kept) assert.ok(existsSync(dir), `${dir} swept`);
    assert.deepEqual(readdirSync(target).sort(), ['f0', 'f1']);
    assert.equal(readFileSync(join(parentDir, `ctrl-exec-fifo-${gone}-file01`, 'notes'), 'utf8'), 'keep me');
    assert.match(basename(p.status().dir!), new RegExp(`^ctrl-exec-fifo-${process.pid}-[A-Za-z0-9]{6}$`));
  });

  it('fail() forgets the FIFOs and reports once', async (t) => {
    const reports: string[] = [];
    const p = pool(t, { onUnavailable: (r) => reports.push(r) });
    assert.ok(p.take(3));
    const dir = p.status().dir!;
    p.fail('broken');
    p.fail('still broken');
    await p.idle();
    assert.ok(!existsSync(dir));
    assert.equal(p.take(3), undefined);
    assert.deepEqual(reports, ['broken']);
    assert.equal(p.status().reason, 'still broken');
  });
});

describe('prepareScriptPipes / scriptPipesStatus', () => {
  for (const ending of ['returns', 'calls process.exit']) {
    it(`the pool directory goes when the process exits (it ${ending}) right after a run`, (t) => {
      const parent = tempDir(t);
      const pipes = new URL('./script-pipes.js', import.meta.url).href;
      const runner = new URL('./run-script.js', import.meta.url).href;
      const code = [
        `const { prepareScriptPipes, scriptPipesStatus } = await import(${JSON.stringify(pipes)});`,
        `const { runScript } = await import(${JSON.stringify(runner)});`,
        `prepareScriptPipes({ dir: ${JSON.stringify(parent)} });`,
        `const r = await runScript({ path: '/bin/echo', args: ['ok'], stdin: '' });`,
        `console.log(JSON.stringify({ out: r.stdout, ...scriptPipesStatus() }));`,
        ending === 'returns' ? '' : 'process.exit(0);',
      ].join('\n');
      const res = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(res.status, 0, res.stderr);
      const seen = JSON.parse(res.stdout) as { out: string; state: string; dir: string };
      assert.equal(seen.out, 'ok\n');
      assert.equal(seen.state, 'ready');
      assert.equal(dirname(seen.dir), parent);
      assert.deepEqual(readdirSync(parent), []);
    });
  }

  it('warms the pool runScript uses, and reports a fallback once', async (t) => {
    const parent = tempDir(t);
    const ready = prepareScriptPipes({ dir: parent });
    assert.equal(ready.state, 'ready');
    assert.equal(dirname(ready.dir!), parent);
    assert.ok(readdirSync(ready.dir!).length > 0);
    assert.deepEqual(scriptPipesStatus(), ready);

    const reports: string[] = [];
    const down = prepareScriptPipes({ dir: join(parent, 'missing'), onFallback: (r) => reports.push(r) });
    // Removed at once, or by its background batch as soon as that finishes.
    for (let i = 0; i < 100 && existsSync(ready.dir!); i++) await sleep(20);
    assert.ok(!existsSync(ready.dir!), 'the replaced pool was not removed');
    assert.equal(down.state, 'unavailable');
    assert.equal(reports.length, 1);
    assert.equal(scriptPipesStatus().reason, reports[0]);
  });
});
