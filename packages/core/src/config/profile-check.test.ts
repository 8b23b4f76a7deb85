import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../errors.js';
import { parseAgentConfig } from './agent-config.js';
import { validateProfilesReferenced } from './profile-check.js';
import { parseScriptsConfig } from './scripts-config.js';

const AGENT = '/etc/ctrl-exec-agent/agent.conf';
const SCRIPTS = '/etc/ctrl-exec-agent/scripts.conf';
const BASE = 'port = 7443\ncert = /c\nkey = /k\nca = /ca\n';

function agent(extra: string) {
  return parseAgentConfig(BASE + extra, AGENT).config;
}

test('passes when every referenced profile is defined', () => {
  const { scripts } = parseScriptsConfig('a = /s/a\nb = /s/b profile=deploy\n', SCRIPTS);
  validateProfilesReferenced(agent('[profile default]\nrun_as = nobody\n[profile deploy]\nrun_as = root\n'), scripts);
});

test('an empty allowlist needs no profile at all', () => {
  validateProfilesReferenced(agent(''), new Map());
});

test('default is not implicit: an unannotated script needs [profile default]', () => {
  const { scripts } = parseScriptsConfig('a = /s/a profile=deploy\nb = /s/b\n', SCRIPTS);
  assert.throws(() => validateProfilesReferenced(agent('[profile deploy]\n'), scripts), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'CE_ERR_CONFIG_VALUE');
    assert.equal(err.exitCode, 78);
    assert.equal(err.file, SCRIPTS);
    assert.equal(err.line, 2);
    assert.equal(err.key, 'b');
    return true;
  });
});

test('every undefined reference is listed; the first by line is located', () => {
  const { scripts } = parseScriptsConfig('z = /s/z profile=nope\na = /s/a profile=other\nok = /s/ok\n', SCRIPTS);
  assert.throws(() => validateProfilesReferenced(agent('[profile default]\n'), scripts), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.line, 1);
    assert.deepEqual(err.details.undefined, ['z -> nope', 'a -> other']);
    return true;
  });
});

test('profile names are case-sensitive', () => {
  const { scripts } = parseScriptsConfig('a = /s/a profile=Deploy\n', SCRIPTS);
  assert.throws(() => validateProfilesReferenced(agent('[profile deploy]\n'), scripts), { code: 'CE_ERR_CONFIG_VALUE' });
});
