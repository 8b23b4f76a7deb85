import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SAFE_PATH, scrubEnv } from './env.js';

test('scrubEnv keeps only PATH=SAFE_PATH and the pass-through variables present', () => {
  const env = scrubEnv({
    PATH: '/tmp/evil:/usr/bin',
    HOME: '/home/agent',
    LANG: 'C.UTF-8',
    LC_ALL: 'en_US.UTF-8',
    TZ: 'UTC',
    TERM: 'xterm',
    USER: 'agent',
    LOGNAME: 'agent',
    LD_PRELOAD: '/tmp/evil.so',
    LD_LIBRARY_PATH: '/tmp',
    BASH_ENV: '/tmp/evil.sh',
    ENV: '/tmp/evil.sh',
    IFS: '/',
    PERL5LIB: '/tmp/lib',
    PERL5OPT: '-Mevil',
    PYTHONPATH: '/tmp',
    NODE_OPTIONS: '--require /tmp/evil.js',
    SHELLOPTS: 'xtrace',
  });
  assert.deepEqual(env, {
    PATH: SAFE_PATH,
    HOME: '/home/agent',
    LANG: 'C.UTF-8',
    LC_ALL: 'en_US.UTF-8',
    TZ: 'UTC',
    TERM: 'xterm',
    USER: 'agent',
    LOGNAME: 'agent',
  });
});

test('scrubEnv: absent variables stay absent, an empty environment gives PATH only', () => {
  assert.deepEqual(scrubEnv({}), { PATH: SAFE_PATH });
  assert.deepEqual(scrubEnv({ HOME: '/root', TZ: undefined }), { PATH: SAFE_PATH, HOME: '/root' });
  assert.equal(SAFE_PATH, '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
});

test('scrubEnv drops a value that contains a NUL byte and does not take variables by other case', () => {
  assert.deepEqual(scrubEnv({ HOME: '/root\0/x', home: '/h', Lang: 'x' }), { PATH: SAFE_PATH });
});
