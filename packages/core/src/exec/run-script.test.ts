import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScript } from './run-script.js';
import { SAFE_PATH } from './env.js';
import { tempDir, writeScript } from './test-helpers.js';

const NUL_ARGS = `printf '%s\\0' "$@"`;

describe('runScript: argv, environment, exit status', { concurrency: true }, () => {
  it('hostile and unusual arguments arrive byte-identical, one argv element each (no shell)', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'args.sh', NUL_ARGS);
    const args = [
      '; rm -rf /',
      '$(id)',
      '`id`',
      '$HOME',
      'a b',
      '  leading and trailing  ',
      '"double"',
      "'single'",
      'back\\slash\\\\',
      'line1\nline2\n',
      'tab\there\r',
      '*',
      '../../etc/passwd',
      '-n',
      '--',
      '%s%d%n',
      'ünïcødé 日本語 🎉',
      '',
      '|| touch pwned &&',
    ];
    const r = await runScript({ path: script, args, stdin: '', cwd: dir });
    assert.equal(r.exit, 0);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, args.map((a) => `${a}\0`).join(''));
    assert.ok(!existsSync(join(dir, 'pwned')));
  });

  it('1,000 arguments arrive in order and intact; argv[0] is the script path', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'many.sh', `printf '%s\\0' "$0"; ${NUL_ARGS}`);
    const args = Array.from({ length: 1000 }, (_, i) => (i % 97 === 0 ? '' : `arg ${i} ${'x'.repeat(i % 40)} $(${i})`));
    const r = await runScript({ path: script, args, stdin: '' });
    assert.equal(r.exit, 0);
    const parts = r.stdout.split('\0');
    assert.equal(parts.pop(), '');
    assert.equal(parts.shift(), script);
    assert.deepEqual(parts, args);
  });

  it('an argument with a NUL byte is refused without starting anything (-1)', async (t) => {
    const dir = tempDir(t);
    const marker = join(dir, 'ran');
    const script = writeScript(dir, 'nul.sh', `touch '${marker}'`);
    const r = await runScript({ path: script, args: ['ok', 'bad\0arg'], stdin: '' });
    assert.equal(r.exit, -1);
    assert.match(r.error ?? '', /NUL/);
    assert.equal(r.stdout, '');
    assert.ok(!existsSync(marker));
  });

  it('dangerous variables never reach the script; PATH is SAFE_PATH; HOME/LANG pass', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'env.sh', 'env -0');
    const r = await runScript({
      path: script,
      args: [],
      stdin: '',
      env: {
        PATH: `${dir}:/usr/bin:/bin`,
        HOME: '/home/agent-test',
        LANG: 'C.UTF-8',
        LD_PRELOAD: join(dir, 'evil.so'),
        LD_LIBRARY_PATH: dir,
        BASH_ENV: join(dir, 'evil.sh'),
        ENV: join(dir, 'evil.sh'),
        IFS: '/',
        PERL5LIB: dir,
        NODE_OPTIONS: '--require /nonexistent',
        SECRET_TOKEN: 'hunter2',
      },
    });
    assert.equal(r.exit, 0);
    assert.equal(r.stderr, '');
    const env = new Map(
      r.stdout
        .split('\0')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
    );
    assert.equal(env.get('PATH'), SAFE_PATH);
    assert.equal(env.get('HOME'), '/home/agent-test');
    assert.equal(env.get('LANG'), 'C.UTF-8');
    for (const banned of ['LD_PRELOAD', 'LD_LIBRARY_PATH', 'BASH_ENV', 'ENV', 'IFS', 'PERL5LIB', 'NODE_OPTIONS', 'SECRET_TOKEN', 'LC_ALL', 'TZ']) {
      assert.equal(env.has(banned), false, `${banned} leaked`);
    }
  });

  it("the agent's own environment is the default source and is scrubbed too", async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'env.sh', 'env -0');
    const saved = process.env.CE_EXEC_TEST_LEAK;
    process.env.CE_EXEC_TEST_LEAK = 'leak';
    t.after(() => {
      if (saved === undefined) delete process.env.CE_EXEC_TEST_LEAK;
      else process.env.CE_EXEC_TEST_LEAK = saved;
    });
    const r = await runScript({ path: script, args: [], stdin: '' });
    assert.equal(r.exit, 0);
    assert.ok(!r.stdout.includes('CE_EXEC_TEST_LEAK'));
    assert.ok(r.stdout.includes(`PATH=${SAFE_PATH}\0`));
  });

  it("working directory defaults to '/' and honours cwd", async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'pwd.sh', 'pwd');
    assert.equal((await runScript({ path: script, args: [], stdin: '' })).stdout, '/\n');
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    assert.equal((await runScript({ path: script, args: [], stdin: '', cwd: sub })).stdout, `${sub}\n`);
  });

  it('exit statuses 0, 3 and 255 are reported as is, with stdout and stderr kept apart', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'exit.sh', 'echo "out $1"; echo "err $1" >&2; exit "$1"');
    for (const code of [0, 3, 255]) {
      const r = await runScript({ path: script, args: [String(code)], stdin: '' });
      assert.equal(r.exit, code);
      assert.equal(r.stdout, `out ${code}\n`);
      assert.equal(r.stderr, `err ${code}\n`);
      assert.equal(r.signal, undefined);
      assert.equal(r.timedOut, false);
      assert.equal(r.cancelled, false);
      assert.equal(r.truncated, false);
      assert.equal(r.stdoutBytes, `out ${code}\n`.length);
      assert.equal(r.error, undefined);
      assert.ok(r.durationMs >= 0);
    }
  });

  it('killed by a signal: 126 with the signal name, output so far kept', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'kill.sh', 'echo before; kill -9 $$; echo after');
    const r = await runScript({ path: script, args: [], stdin: '' });
    assert.equal(r.exit, 126);
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.stdout, 'before\n');
    assert.equal(r.timedOut, false);
    assert.equal(r.cancelled, false);
  });

  it('missing, non-executable, directory, bad interpreter and relative paths: 127 with a reason', async (t) => {
    const dir = tempDir(t);
    const noExec = writeScript(dir, 'noexec.sh', 'echo ran', 0o644);
    const badInterp = join(dir, 'badinterp.sh');
    writeFileSync(badInterp, '#!/nonexistent/interpreter\necho ran\n', { mode: 0o755 });
    const cases: Array<[string, RegExp]> = [
      [join(dir, 'missing.sh'), /ENOENT/],
      [noExec, /EACCES/],
      [dir, /EACCES/],
      [badInterp, /ENOENT/],
      [join(noExec, 'below-a-file'), /ENOTDIR/],
      ['relative/script.sh', /absolute/],
      ['', /absolute/],
    ];
    for (const [path, reason] of cases) {
      const r = await runScript({ path, args: [], stdin: '{}' });
      assert.equal(r.exit, 127, path);
      assert.match(r.error ?? '', reason, path);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, '');
    }
  });

  it('invalid UTF-8 output is decoded with replacement characters', async (t) => {
    const dir = tempDir(t);
    const script = writeScript(dir, 'bad-utf8.sh', `printf '\\377\\376ok\\303'; printf 'e\\200\\n' >&2; printf '\\342\\202\\254'`);
    const r = await runScript({ path: script, args: [], stdin: '' });
    assert.equal(r.exit, 0);
    assert.equal(r.stdout, '\uFFFD\uFFFDok\uFFFD€');
    assert.equal(r.stderr, 'e\uFFFD\n');
    assert.equal(r.stdoutBytes, 8);
  });
});
