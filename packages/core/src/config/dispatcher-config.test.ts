import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { loadDispatcherConfig, parseDispatcherConfig } from './dispatcher-config.js';
import { defaultDispatcherConfigPath } from './paths.js';

const FILE = '/etc/ctrl-exec/ctrl-exec.conf';
const BASE = 'cert = /etc/ctrl-exec/d.crt\nkey = /etc/ctrl-exec/d.key\nca = /etc/ctrl-exec/ca.crt\n';

function parse(extra: string, file = FILE) {
  return parseDispatcherConfig(BASE + extra, file);
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
  const dir = mkdtempSync(join(tmpdir(), 'ce-dconf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('minimal file: required keys and every default', () => {
  const { config, warnings } = parse('');
  assert.deepEqual(warnings, []);
  assert.equal(config.file, FILE);
  assert.equal(config.cert, '/etc/ctrl-exec/d.crt');
  assert.equal(config.key, '/etc/ctrl-exec/d.key');
  assert.equal(config.ca, '/etc/ctrl-exec/ca.crt');
  assert.equal(config.authHook, undefined);
  assert.equal(config.authHookTimeout, 10);
  assert.equal(config.apiAuthDefault, 'deny');
  assert.equal(config.authDenyGeneric, false);
  assert.equal(config.readTimeout, 60);
  assert.equal(config.maxParallel, 64);
  assert.equal(config.apiPort, 7445);
  assert.equal(config.apiBind, '127.0.0.1');
  assert.equal(config.apiCert, undefined);
  assert.equal(config.apiKey, undefined);
  assert.equal(config.apiMaxChildren, 64);
  assert.equal(config.certDays, undefined);
  assert.equal(config.certRenewalDays, 90);
  assert.equal(config.certOverlapDays, 30);
  assert.equal(config.certCheckInterval, 14400);
  assert.equal(config.dispatcherId, undefined);
  assert.equal(config.serviceUser, 'ctrl-exec');
  assert.equal(config.pairingMaxQueue, 10);
  assert.equal(config.pairingTimeout, 600);
  assert.equal(config.pairingPort, 7444);
  assert.equal(config.pairingRateLimitVolume, '10/60/300');
  assert.equal(config.pairingRateLimitDisable, false);
  assert.equal(config.agentKeepAlive, true);
  assert.equal(config.keyBits, 4096);
  assert.equal(config.syslog, undefined);
  assert.equal(config.logJson, undefined);
  assert.deepEqual(config.paths, {
    stateDir: '/var/lib/ctrl-exec',
    caDir: '/etc/ctrl-exec',
    registryDir: '/var/lib/ctrl-exec/agents',
    runsDir: '/var/lib/ctrl-exec/runs',
    locksDir: '/var/lib/ctrl-exec/locks',
    pairingDir: '/var/lib/ctrl-exec/pairing',
    rotationFile: '/var/lib/ctrl-exec/rotation.json',
    pairingPidFile: '/var/lib/ctrl-exec/pairing-mode.pid',
    caKey: '/etc/ctrl-exec/ca.key',
    caCert: '/etc/ctrl-exec/ca.crt',
    caSerial: '/etc/ctrl-exec/ca.serial',
  });
  assert.equal(config.raw.get('cert'), '/etc/ctrl-exec/d.crt');
  assert.equal(config.lines.get('ca'), 3);
});

test('every key parsed and typed', () => {
  const { config, warnings } = parse(
    [
      'auth_hook = /etc/ctrl-exec/auth-hook',
      'auth_hook_timeout = 5',
      'api_auth_default = Allow',
      'auth_deny_generic = yes',
      'read_timeout = 120',
      'max_parallel = 8',
      'api_port = 8445',
      'api_bind = 0.0.0.0',
      'api_cert = /etc/ctrl-exec/api.crt',
      'api_key = /etc/ctrl-exec/api.key',
      'api_max_children = 16',
      'cert_days = 365',
      'cert_renewal_days = 0',
      'cert_overlap_days = 7',
      'cert_check_interval = 3600',
      'ca_dir = /srv/ca',
      'state_dir = /srv/state',
      'dispatcher_id = dispatcher01.example.com',
      'service_user = svc',
      'pairing_max_queue = 3',
      'pairing_timeout = 1',
      'pairing_port = 17444',
      'pairing_rate_limit_volume = 5/10/20',
      'pairing_rate_limit_disable = 1',
      'key_bits = 2048',
      'registry_dir = /srv/registry',
      'rotation_file = /srv/rot.json',
      'syslog = tls://127.0.0.1:6514',
      'syslog_socket = /dev/log',
      'syslog_ca = /srv/syslog-ca.pem',
      'log_json = 1',
      '',
    ].join('\n'),
  );
  assert.deepEqual(warnings, []);
  assert.equal(config.authHook, '/etc/ctrl-exec/auth-hook');
  assert.equal(config.authHookTimeout, 5);
  assert.equal(config.apiAuthDefault, 'allow');
  assert.equal(config.authDenyGeneric, true);
  assert.equal(config.readTimeout, 120);
  assert.equal(config.maxParallel, 8);
  assert.equal(config.apiPort, 8445);
  assert.equal(config.apiBind, '0.0.0.0');
  assert.equal(config.apiCert, '/etc/ctrl-exec/api.crt');
  assert.equal(config.apiKey, '/etc/ctrl-exec/api.key');
  assert.equal(config.apiMaxChildren, 16);
  assert.equal(config.certDays, 365);
  assert.equal(config.certRenewalDays, 0);
  assert.equal(config.certOverlapDays, 7);
  assert.equal(config.certCheckInterval, 3600);
  assert.equal(config.caDir, '/srv/ca');
  assert.equal(config.stateDir, '/srv/state');
  assert.equal(config.dispatcherId, 'dispatcher01.example.com');
  assert.equal(config.serviceUser, 'svc');
  assert.equal(config.pairingMaxQueue, 3);
  assert.equal(config.pairingTimeout, 1);
  assert.equal(config.pairingPort, 17444);
  assert.equal(config.pairingRateLimitVolume, '5/10/20');
  assert.equal(config.pairingRateLimitDisable, true);
  assert.equal(config.keyBits, 2048);
  assert.equal(config.syslog, 'tls://127.0.0.1:6514');
  assert.equal(config.syslogSocket, '/dev/log');
  assert.equal(config.syslogCa, '/srv/syslog-ca.pem');
  assert.equal(config.logJson, '/etc/ctrl-exec/1', 'log_json is a path relative to the config file');
  assert.equal(config.paths.registryDir, '/srv/registry');
  assert.equal(config.paths.rotationFile, '/srv/rot.json');
  assert.equal(config.paths.runsDir, '/srv/state/runs');
  assert.equal(config.paths.locksDir, '/srv/state/locks');
  assert.equal(config.paths.pairingDir, '/srv/state/pairing');
  assert.equal(config.paths.pairingPidFile, '/srv/state/pairing-mode.pid');
  assert.equal(config.paths.caKey, '/srv/ca/ca.key');
  assert.equal(config.paths.caCert, '/srv/ca/ca.crt');
});

test('comments, blank lines and indented lines are skipped; no inline comments', () => {
  const { config, warnings } = parse('# service_user = commented\n\n   \nservice_user = a # b\n  api_bind = 0.0.0.0\n\t# indented comment\n');
  assert.equal(config.serviceUser, 'a # b');
  assert.equal(config.apiBind, '127.0.0.1');
  // only the indented setting is worth a warning
  assert.deepEqual(warnings.map((w) => [w.file, w.line]), [[FILE, 8]]);
});

test('lines that are not key = value are ignored with a located warning', () => {
  const { warnings } = parse('this is junk\nservice_user =\n[section]\nkey-with-dash = 1\n');
  assert.deepEqual(warnings.map((w) => [w.file, w.line, w.key]), [
    [FILE, 4, undefined],
    [FILE, 5, undefined],
    [FILE, 6, undefined],
    [FILE, 7, undefined],
  ]);
});

test('unknown keys are kept in raw and warned about', () => {
  const { config, warnings } = parse('colour = blue\n');
  assert.equal(config.raw.get('colour'), 'blue');
  assert.deepEqual(warnings.map((w) => [w.line, w.key]), [[4, 'colour']]);
});

test('a duplicate key: the last one wins, with a warning', () => {
  const { config, warnings } = parse('api_port = 1000\napi_port = 2000\n');
  assert.equal(config.apiPort, 2000);
  assert.deepEqual(warnings.map((w) => [w.line, w.key]), [[5, 'api_port']]);
});

for (const k of ['cert', 'key', 'ca'] as const) {
  test(`missing '${k}' is CE_ERR_CONFIG_MISSING with upstream wording`, () => {
    const text = BASE.split('\n').filter((l) => !l.startsWith(`${k} `)).join('\n');
    const err = expectConfigError(() => parseDispatcherConfig(text, FILE), { code: 'CE_ERR_CONFIG_MISSING', key: k });
    assert.ok(err.message.startsWith(`Missing '${k}' in ${FILE}`), err.message);
    assert.equal(err.exitCode, 78);
  });
}

test('a required key set only on an indented line is still missing', () => {
  const text = 'cert = /a\n key = /b\nca = /c\n';
  expectConfigError(() => parseDispatcherConfig(text, FILE), { code: 'CE_ERR_CONFIG_MISSING', key: 'key' });
});

const BAD_VALUES: Array<[string, string]> = [
  ['read_timeout', '60s'],
  ['read_timeout', '-1'],
  ['read_timeout', '0'],
  ['timeout', 'abc'],
  ['max_parallel', '1.5'],
  ['api_port', '70000'],
  ['api_port', '-1'],
  ['pairing_port', '65536'],
  ['pairing_timeout', '0'],
  ['pairing_timeout', '601'],
  ['key_bits', '1024'],
  ['key_bits', '2047'],
  ['cert_check_interval', '99999999999999999999'],
  ['auth_hook_timeout', '10 # seconds'],
];
for (const [key, value] of BAD_VALUES) {
  test(`invalid ${key} = ${value} is CE_ERR_CONFIG_VALUE naming file, line and key`, () => {
    expectConfigError(() => parse(`${key} = ${value}\n`), { code: 'CE_ERR_CONFIG_VALUE', line: 4, key });
  });
}

test('boolean switches follow upstream: only 1 or y at the start means on', () => {
  for (const v of ['1', 'y', 'Yes', 'YES']) {
    assert.equal(parse(`auth_deny_generic = ${v}\n`).config.authDenyGeneric, true, v);
  }
  for (const v of ['0', 'no', 'off']) {
    const r = parse(`pairing_rate_limit_disable = ${v}\n`);
    assert.equal(r.config.pairingRateLimitDisable, false, v);
    assert.deepEqual(r.warnings, []);
  }
  const r = parse('auth_deny_generic = true\n');
  assert.equal(r.config.authDenyGeneric, false);
  assert.deepEqual(r.warnings.map((w) => [w.line, w.key]), [[4, 'auth_deny_generic']]);
});

test('agent_keepalive: on unless set to a value upstream reads as off', () => {
  assert.equal(parse('').config.agentKeepAlive, true);
  for (const v of ['1', 'yes', 'Y']) {
    const r = parse(`agent_keepalive = ${v}\n`);
    assert.equal(r.config.agentKeepAlive, true, v);
    assert.deepEqual(r.warnings, [], v);
  }
  for (const v of ['0', 'no', 'off']) {
    const r = parse(`agent_keepalive = ${v}\n`);
    assert.equal(r.config.agentKeepAlive, false, v);
    assert.deepEqual(r.warnings, [], v);
  }
  // 'true' is off for upstream-style switches, and is warned about
  const r = parse('agent_keepalive = true\n');
  assert.equal(r.config.agentKeepAlive, false);
  assert.deepEqual(r.warnings.map((w) => [w.line, w.key]), [[4, 'agent_keepalive']]);
});

test('api_auth_default: allow in any case, anything else is deny', () => {
  assert.equal(parse('api_auth_default = ALLOW\n').config.apiAuthDefault, 'allow');
  assert.equal(parse('api_auth_default = deny\n').config.apiAuthDefault, 'deny');
  const r = parse('api_auth_default = allowed\n');
  assert.equal(r.config.apiAuthDefault, 'deny');
  assert.equal(r.warnings.length, 1);
});

test('timeout is an alias of read_timeout; read_timeout wins in any order', () => {
  assert.equal(parse('timeout = 30\n').config.readTimeout, 30);
  assert.equal(parse('timeout = 30\nread_timeout = 90\n').config.readTimeout, 90);
  assert.equal(parse('read_timeout = 90\ntimeout = 30\n').config.readTimeout, 90);
});

test('relative paths are resolved against the config file directory', () => {
  const text = [
    'cert = certs/d.crt',
    'key = ./certs/d.key',
    'ca = ../shared/ca.crt',
    'state_dir = state',
    'ca_dir = ca',
    'auth_hook = hooks/auth',
    'api_cert = api.crt',
    '',
  ].join('\n');
  const { config } = parseDispatcherConfig(text, '/opt/ce/etc/ctrl-exec.conf');
  assert.equal(config.cert, '/opt/ce/etc/certs/d.crt');
  assert.equal(config.key, '/opt/ce/etc/certs/d.key');
  assert.equal(config.ca, '/opt/ce/shared/ca.crt');
  assert.equal(config.stateDir, '/opt/ce/etc/state');
  assert.equal(config.authHook, '/opt/ce/etc/hooks/auth');
  assert.equal(config.apiCert, '/opt/ce/etc/api.crt');
  assert.equal(config.paths.registryDir, '/opt/ce/etc/state/agents');
  assert.equal(config.paths.caKey, '/opt/ce/etc/ca/ca.key');
  assert.equal(config.raw.get('cert'), 'certs/d.crt');
});

test('dispatcher_id stays raw; sanitising is separate', () => {
  assert.equal(parse('dispatcher_id = my dispatcher!\n').config.dispatcherId, 'my dispatcher!');
});

test('default location: CTRL_EXEC_CONFIG, else /etc/ctrl-exec/ctrl-exec.conf', () => {
  assert.equal(defaultDispatcherConfigPath({}), '/etc/ctrl-exec/ctrl-exec.conf');
  assert.equal(defaultDispatcherConfigPath({ CTRL_EXEC_CONFIG: '' }), '/etc/ctrl-exec/ctrl-exec.conf');
  assert.equal(defaultDispatcherConfigPath({ CTRL_EXEC_CONFIG: '/x/y.conf' }), '/x/y.conf');
});

test('load: explicit path wins over CTRL_EXEC_CONFIG, which wins over the default', (t) => {
  const dir = tempDir(t);
  const a = join(dir, 'a.conf');
  const b = join(dir, 'b.conf');
  writeFileSync(a, `${BASE}service_user = from-a\n`);
  writeFileSync(b, `${BASE}service_user = from-b\n`);
  const env = { CTRL_EXEC_CONFIG: b };
  assert.equal(loadDispatcherConfig(a, { env }).config.serviceUser, 'from-a');
  const viaEnv = loadDispatcherConfig(undefined, { env });
  assert.equal(viaEnv.config.serviceUser, 'from-b');
  assert.equal(viaEnv.config.file, b);
});

test('load: relative paths resolve against the real file location', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'ctrl-exec.conf');
  writeFileSync(file, 'cert = d.crt\nkey = d.key\nca = ca.crt\nstate_dir = state\n');
  const { config } = loadDispatcherConfig(file);
  assert.equal(config.cert, join(dir, 'd.crt'));
  assert.equal(config.paths.runsDir, join(dir, 'state', 'runs'));
});

test('load: a missing file is CE_ERR_CONFIG_MISSING naming the path', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'missing.conf');
  const err = expectConfigError(() => loadDispatcherConfig(undefined, { env: { CTRL_EXEC_CONFIG: file } }), {
    code: 'CE_ERR_CONFIG_MISSING',
    file,
  });
  assert.ok(err.message.includes(file));
});
