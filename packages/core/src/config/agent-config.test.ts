import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { loadAgentConfig, parseAgentConfig } from './agent-config.js';
import { defaultAgentConfigPath } from './paths.js';

const FILE = '/etc/ctrl-exec-agent/agent.conf';
const BASE = 'port = 7443\ncert = /etc/ctrl-exec-agent/agent.crt\nkey = /etc/ctrl-exec-agent/agent.key\nca = /etc/ctrl-exec-agent/ca.crt\n';

function parse(extra: string, file = FILE) {
  return parseAgentConfig(BASE + extra, file);
}

function expectConfigError(fn: () => unknown, want: { code: string; line?: number; key?: string; file?: string }): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.code, want.code);
  assert.equal(caught.file, want.file ?? FILE);
  if ('line' in want) assert.equal(caught.line, want.line);
  if ('key' in want) assert.equal(caught.key, want.key);
  return caught;
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ce-aconf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('minimal file: required keys and every default', () => {
  const { config, warnings } = parse('');
  assert.deepEqual(warnings, []);
  assert.equal(config.file, FILE);
  assert.equal(config.port, 7443);
  assert.equal(config.bind, '0.0.0.0');
  assert.equal(config.hostname, undefined);
  assert.equal(config.cert, '/etc/ctrl-exec-agent/agent.crt');
  assert.equal(config.key, '/etc/ctrl-exec-agent/agent.key');
  assert.equal(config.ca, '/etc/ctrl-exec-agent/ca.crt');
  assert.equal(config.stateDir, '/var/lib/ctrl-exec-agent');
  assert.equal(config.caDir, '/etc/ctrl-exec-agent');
  assert.equal(config.trustedDispatchersPath, '/var/lib/ctrl-exec-agent/ctrl-exec-dispatchers');
  assert.equal(config.revokedSerials, '/etc/ctrl-exec-agent/revoked-serials');
  assert.equal(config.scriptDirs, undefined);
  assert.equal(config.executorSocket, undefined);
  assert.equal(config.asyncRunsDir, '/var/lib/ctrl-exec-agent/runs');
  assert.equal(config.authHook, undefined);
  assert.equal(config.authHookTimeout, 10);
  assert.equal(config.allowedIps, undefined);
  assert.equal(config.rateLimitDisable, false);
  assert.equal(config.rateLimitVolume, '10/60/300');
  assert.equal(config.rateLimitProbe, '3/600/3600');
  assert.equal(config.maxChildren, 256);
  assert.equal(config.stdinTimeout, 10);
  assert.equal(config.certStagingPath, '/var/lib/ctrl-exec-agent/agent.crt.staged');
  assert.equal(config.pairingPort, undefined);
  assert.deepEqual(config.tags, {});
  assert.equal(config.profiles.size, 0);
  assert.equal(config.raw.get('port'), '7443');
  assert.equal(config.lines.get('ca'), 4);
});

test('every key parsed and typed', () => {
  const { config, warnings } = parse(
    [
      'trusted_dispatchers_path = /srv/trusted',
      'revoked_serials = /srv/revoked',
      'script_dirs = /opt/scripts::/usr/local/lib/ce:',
      'executor_socket = /run/ctrl-exec-agent/exec.sock',
      'async_runs_dir = /srv/runs',
      'auth_hook = /etc/ctrl-exec-agent/hook',
      'auth_hook_timeout = 3',
      'allowed_ips = 10.0.0.0/8, 192.168.1.5',
      'rate_limit_disable = yes',
      'rate_limit_volume = 100/60/30',
      'rate_limit_probe = 0/1/1',
      'max_children = 4',
      'stdin_timeout = 2',
      'cert_staging_path = /srv/staged.crt',
      'pairing_port = 7444',
      'hostname = web-01.example.com',
      'bind = 127.0.0.1',
      'syslog = none',
      '',
    ].join('\n'),
  );
  assert.deepEqual(warnings, []);
  assert.equal(config.trustedDispatchersPath, '/srv/trusted');
  assert.equal(config.revokedSerials, '/srv/revoked');
  assert.deepEqual(config.scriptDirs, ['/opt/scripts', '/usr/local/lib/ce']);
  assert.equal(config.executorSocket, '/run/ctrl-exec-agent/exec.sock');
  assert.equal(config.asyncRunsDir, '/srv/runs');
  assert.equal(config.authHook, '/etc/ctrl-exec-agent/hook');
  assert.equal(config.authHookTimeout, 3);
  assert.equal(config.allowedIps, '10.0.0.0/8, 192.168.1.5');
  assert.equal(config.rateLimitDisable, true);
  assert.equal(config.rateLimitVolume, '100/60/30');
  assert.equal(config.rateLimitProbe, '0/1/1');
  assert.equal(config.maxChildren, 4);
  assert.equal(config.stdinTimeout, 2);
  assert.equal(config.certStagingPath, '/srv/staged.crt');
  assert.equal(config.pairingPort, 7444);
  assert.equal(config.hostname, 'web-01.example.com');
  assert.equal(config.bind, '127.0.0.1');
  assert.equal(config.syslog, 'none');
});

test('state_dir and ca_dir move the derived defaults; explicit keys still win', () => {
  const a = parse('state_dir = /srv/agent\nca_dir = /srv/certs\n').config;
  assert.equal(a.trustedDispatchersPath, '/srv/agent/ctrl-exec-dispatchers');
  assert.equal(a.asyncRunsDir, '/srv/agent/runs');
  assert.equal(a.certStagingPath, '/srv/agent/agent.crt.staged');
  assert.equal(a.revokedSerials, '/srv/certs/revoked-serials');
  const b = parse('state_dir = /srv/agent\nasync_runs_dir = /elsewhere\n').config;
  assert.equal(b.asyncRunsDir, '/elsewhere');
});

test('[tags]: an inline # stays part of the value', () => {
  const { config } = parse('[tags]\nenv = prod # main\nrole=web\n');
  assert.deepEqual(config.tags, { env: 'prod # main', role: 'web' });
});

test('an inline # stays part of a top-level value too', () => {
  assert.equal(parse('rate_limit_volume = 5/5/5 # tight\n').config.rateLimitVolume, '5/5/5 # tight');
});

test('section names are case-insensitive; unknown sections are ignored with a warning', () => {
  const { config, warnings } = parse('[TAGS]\nenv = prod\n[misc]\nfoo = bar\n[ tags ]\nteam = ops\n');
  assert.deepEqual(config.tags, { env: 'prod', team: 'ops' });
  assert.equal(config.raw.has('foo'), false);
  assert.deepEqual(warnings.map((w) => [w.file, w.line]), [[FILE, 7]]);
});

test('a tag named __proto__ is an ordinary tag', () => {
  const { config } = parse('[tags]\n__proto__ = x\n');
  assert.equal(Object.getPrototypeOf(config.tags), Object.prototype);
  assert.deepEqual(Object.entries(config.tags), [['__proto__', 'x']]);
});

test('top-level keys after a section belong to that section', () => {
  const { config } = parse('[tags]\nport = 9\n');
  assert.equal(config.port, 7443);
  assert.deepEqual(config.tags, { port: '9' });
});

test('a malformed line is fatal: CE_ERR_CONFIG with file and line, upstream wording', () => {
  const err = expectConfigError(() => parse('\njust some words\n'), { code: 'CE_ERR_CONFIG', line: 6 });
  assert.ok(err.message.includes(`Malformed config line in '${FILE}': just some words`), err.message);
  assert.equal(err.exitCode, 78);
});

for (const [label, line] of [
  ['an empty value', 'cert ='],
  ['a key with a dot', 'a.b = c'],
  ['a header with two names', '[profile a b]'],
  ['an unclosed header', '[tags'],
  ['a key starting with a dash', '-x = 1'],
] as const) {
  test(`${label} is a malformed line`, () => {
    expectConfigError(() => parse(`${line}\n`), { code: 'CE_ERR_CONFIG', line: 5 });
  });
}

test('[profile] without a name is CE_ERR_CONFIG with its line', () => {
  expectConfigError(() => parse('[profile]\nrun_as = nobody\n'), { code: 'CE_ERR_CONFIG', line: 5 });
  expectConfigError(() => parse('[ Profile ]\n'), { code: 'CE_ERR_CONFIG', line: 5 });
});

for (const k of ['port', 'cert', 'key', 'ca'] as const) {
  test(`missing '${k}' is CE_ERR_CONFIG_MISSING`, () => {
    const text = BASE.split('\n').filter((l) => !l.startsWith(`${k} `)).join('\n');
    const err = expectConfigError(() => parseAgentConfig(text, FILE), { code: 'CE_ERR_CONFIG_MISSING', key: k });
    assert.ok(err.message.includes(`'${k}'`));
  });
}

test('a required key given only inside a section is still missing', () => {
  const text = 'cert = /a\nkey = /b\nca = /c\n[tags]\nport = 7443\n';
  expectConfigError(() => parseAgentConfig(text, FILE), { code: 'CE_ERR_CONFIG_MISSING', key: 'port' });
});

for (const bad of ['abc', '0', '65536', '-1', '7443 # main']) {
  test(`port = ${bad} is CE_ERR_CONFIG_VALUE`, () => {
    const text = BASE.replace('port = 7443', `port = ${bad}`);
    expectConfigError(() => parseAgentConfig(text, FILE), { code: 'CE_ERR_CONFIG_VALUE', line: 1, key: 'port' });
  });
}

test('a value error on a value holding # mentions that # is not a comment', () => {
  const text = BASE.replace('port = 7443', 'port = 7443 # main');
  const err = expectConfigError(() => parseAgentConfig(text, FILE), { code: 'CE_ERR_CONFIG_VALUE' });
  assert.match(err.message, /'#' does not start a comment/);
});

for (const [key, value] of [
  ['max_children', '0'],
  ['stdin_timeout', 'ten'],
  ['auth_hook_timeout', '1.5'],
  ['pairing_port', '99999'],
  ['hostname', '-web'],
  ['hostname', 'web 01'],
  ['bind', 'not an address'],
  ['script_dirs', '/opt/ok:relative/dir'],
] as const) {
  test(`${key} = ${value} is CE_ERR_CONFIG_VALUE naming file, line and key`, () => {
    expectConfigError(() => parse(`${key} = ${value}\n`), { code: 'CE_ERR_CONFIG_VALUE', line: 5, key });
  });
}

test('script_dirs with no directory at all refuses everything, with a warning', () => {
  const { config, warnings } = parse('script_dirs = ::\n');
  assert.deepEqual(config.scriptDirs, []);
  assert.deepEqual(warnings.map((w) => [w.line, w.key]), [[5, 'script_dirs']]);
});

test('rate_limit_disable: 1 or y at the start means on; true means off, with a warning', () => {
  assert.equal(parse('rate_limit_disable = 1\n').config.rateLimitDisable, true);
  assert.equal(parse('rate_limit_disable = Y\n').config.rateLimitDisable, true);
  assert.equal(parse('rate_limit_disable = no\n').config.rateLimitDisable, false);
  const r = parse('rate_limit_disable = true\n');
  assert.equal(r.config.rateLimitDisable, false);
  assert.equal(r.warnings.length, 1);
});

test('unknown top-level keys are kept in raw with a warning; duplicates: last wins', () => {
  const { config, warnings } = parse('disable_rate_limit = 1\nmax_children = 1\nmax_children = 2\n');
  assert.equal(config.raw.get('disable_rate_limit'), '1');
  assert.equal(config.maxChildren, 2);
  assert.deepEqual(warnings.map((w) => [w.line, w.key]).sort(), [[5, 'disable_rate_limit'], [7, 'max_children']]);
});

test('relative paths are resolved against the config file directory', () => {
  const text = 'port = 7443\ncert = agent.crt\nkey = ./agent.key\nca = ../ca/ca.crt\nstate_dir = state\nexecutor_socket = run/exec.sock\n';
  const { config } = parseAgentConfig(text, '/opt/agent/etc/agent.conf');
  assert.equal(config.cert, '/opt/agent/etc/agent.crt');
  assert.equal(config.key, '/opt/agent/etc/agent.key');
  assert.equal(config.ca, '/opt/agent/ca/ca.crt');
  assert.equal(config.stateDir, '/opt/agent/etc/state');
  assert.equal(config.trustedDispatchersPath, '/opt/agent/etc/state/ctrl-exec-dispatchers');
  assert.equal(config.executorSocket, '/opt/agent/etc/run/exec.sock');
});

test('log_json is a path relative to the config file, except stdout', () => {
  const rel = parseAgentConfig('port = 7443\ncert = a\nkey = b\nca = c\nlog_json = audit.jsonl\n', '/opt/agent/etc/agent.conf');
  assert.equal(rel.config.logJson, '/opt/agent/etc/audit.jsonl');
  const out = parseAgentConfig('port = 7443\ncert = a\nkey = b\nca = c\nlog_json = stdout\n', '/opt/agent/etc/agent.conf');
  assert.equal(out.config.logJson, 'stdout');
});

test('profiles: values parsed and normalised', () => {
  const { config, warnings } = parse(
    [
      '[profile default]',
      'run_as = nobody',
      'no_new_privileges = yes',
      '[profile cert-deploy]',
      'run_as = 0',
      'caps = CAP_CHOWN, CAP_DAC_OVERRIDE  CAP_FOWNER',
      'writable = /etc/ssl::/var/lib/certs',
      'no_new_privileges = no',
      '[profile bare.v2]',
      '',
    ].join('\n'),
  );
  assert.deepEqual(warnings, []);
  assert.deepEqual([...config.profiles.keys()], ['default', 'cert-deploy', 'bare.v2']);
  const def = config.profiles.get('default');
  assert.equal(def?.runAs, 'nobody');
  assert.equal(def?.noNewPrivileges, true);
  assert.deepEqual(def?.caps, []);
  assert.equal(def?.line, 5);
  const deploy = config.profiles.get('cert-deploy');
  assert.equal(deploy?.runAs, '0');
  assert.deepEqual(deploy?.caps, ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER']);
  assert.deepEqual(deploy?.writable, ['/etc/ssl', '/var/lib/certs']);
  assert.equal(deploy?.noNewPrivileges, false);
  const bare = config.profiles.get('bare.v2');
  assert.equal(bare?.runAs, undefined);
  assert.equal(bare?.noNewPrivileges, true);
  assert.deepEqual(bare?.writable, []);
});

test('a profile section given twice is merged, later keys winning', () => {
  const { config } = parse('[profile p]\nrun_as = a\ncaps = CAP_CHOWN\n[tags]\nx = y\n[profile p]\nrun_as = b\n');
  assert.equal(config.profiles.get('p')?.runAs, 'b');
  assert.deepEqual(config.profiles.get('p')?.caps, ['CAP_CHOWN']);
});

test('no_new_privileges: true unless set to a false word', () => {
  for (const v of ['1', 'Y', 'yes', 'TRUE', 'on']) {
    assert.equal(parse(`[profile p]\nno_new_privileges = ${v}\n`).config.profiles.get('p')?.noNewPrivileges, true, v);
  }
  for (const v of ['0', 'n', 'No', 'false', 'off']) {
    assert.equal(parse(`[profile p]\nno_new_privileges = ${v}\n`).config.profiles.get('p')?.noNewPrivileges, false, v);
  }
  const odd = parse('[profile p]\nno_new_privileges = maybe\n');
  assert.equal(odd.config.profiles.get('p')?.noNewPrivileges, false);
  assert.equal(odd.warnings.length, 1);
});

for (const [label, body, key] of [
  ['a stray comment in caps', 'caps = CAP_NET_BIND_SERVICE # for port 80', 'caps'],
  ['a lower-case capability', 'caps = cap_chown', 'caps'],
  ['a capability without the CAP_ prefix', 'caps = CHOWN', 'caps'],
  ['a relative writable path', 'writable = /ok:tmp', 'writable'],
  ['a comment after a writable path', 'writable = /srv/data # logs', 'writable'],
  ['a run_as with a space', 'run_as = no body', 'run_as'],
  ['a run_as starting with a digit then letters', 'run_as = 1abc', 'run_as'],
  ['a numeric run_as beyond 32 bits', 'run_as = 4294967296', 'run_as'],
  ['run_as (uid_t)-1', 'run_as = 4294967295', 'run_as'],
  ['a comment after no_new_privileges', 'no_new_privileges = yes # keep', 'no_new_privileges'],
] as const) {
  test(`profile: ${label} is CE_ERR_CONFIG_VALUE at its line`, () => {
    expectConfigError(() => parse(`[profile p]\n${body}\n`), { code: 'CE_ERR_CONFIG_VALUE', line: 6, key });
  });
}

test('profile: the error for a stray # mentions the inline-comment mistake', () => {
  let message = '';
  try {
    parse('[profile p]\ncaps = CAP_NET_BIND_SERVICE # for port 80\n');
  } catch (err) {
    message = (err as Error).message;
  }
  assert.match(message, /'#' does not start a comment/);
});

test('profile: the largest usable numeric run_as is accepted', () => {
  assert.equal(parse('[profile p]\nrun_as = 4294967294\n').config.profiles.get('p')?.runAs, '4294967294');
});

test('profile: unknown keys are warned about', () => {
  const { warnings } = parse('[profile p]\nno_new_privilege = no\n');
  assert.deepEqual(warnings.map((w) => [w.line, w.key]), [[6, 'no_new_privilege']]);
});

test('default location: CTRL_EXEC_AGENT_CONFIG, else /etc/ctrl-exec-agent/agent.conf', () => {
  assert.equal(defaultAgentConfigPath({}), '/etc/ctrl-exec-agent/agent.conf');
  assert.equal(defaultAgentConfigPath({ CTRL_EXEC_AGENT_CONFIG: '/x/agent.conf' }), '/x/agent.conf');
});

test('load: explicit path wins over CTRL_EXEC_AGENT_CONFIG', (t) => {
  const dir = tempDir(t);
  const a = join(dir, 'a.conf');
  const b = join(dir, 'b.conf');
  writeFileSync(a, BASE.replace('7443', '1111'));
  writeFileSync(b, BASE.replace('7443', '2222'));
  const env = { CTRL_EXEC_AGENT_CONFIG: b };
  assert.equal(loadAgentConfig(a, { env }).config.port, 1111);
  assert.equal(loadAgentConfig(undefined, { env }).config.port, 2222);
});

test('load: a missing file is CE_ERR_CONFIG_MISSING', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'agent.conf');
  expectConfigError(() => loadAgentConfig(file), { code: 'CE_ERR_CONFIG_MISSING', file });
});

test('load: auth_hook must be an executable file', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'agent.conf');
  const hook = join(dir, 'hook');
  writeFileSync(file, `${BASE}auth_hook = hook\n`);

  expectConfigError(() => loadAgentConfig(file), { code: 'CE_ERR_CONFIG_VALUE', file, line: 5, key: 'auth_hook' });
  writeFileSync(hook, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
  expectConfigError(() => loadAgentConfig(file), { code: 'CE_ERR_CONFIG_VALUE', file, line: 5, key: 'auth_hook' });
  chmodSync(hook, 0o755);
  assert.equal(loadAgentConfig(file).config.authHook, hook);

  writeFileSync(file, `${BASE}auth_hook = ${dir}\n`);
  expectConfigError(() => loadAgentConfig(file), { code: 'CE_ERR_CONFIG_VALUE', file, key: 'auth_hook' });
});

test('control characters from a malformed line are escaped in the message', () => {
  const err = expectConfigError(() => parse('\x1b[31mred\x07\n'), { code: 'CE_ERR_CONFIG', line: 5 });
  assert.ok(![...err.message].some((c) => c.charCodeAt(0) < 0x20), err.message);
  assert.ok(err.message.includes('\\x1b[31mred\\x07'), err.message);
});
