import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  auditRecord,
  escapeControlChars,
  fieldKey,
  formatAuditLine,
  renderValue,
  truncateUtf8,
} from './format.js';
import { AUDIT_LEVELS, levelOf, normaliseLevel, syslogPriority } from './levels.js';
import { REDACTED, SecretRedactor, isSensitiveField } from './redact.js';
import { parseSyslogTarget, isValidHostname } from './syslog-target.js';
import { formatRfc5424, frameOctetCounted } from './remote-syslog.js';

test('upstream example: ACTION first, other keys upper-cased and sorted', () => {
  assert.equal(
    formatAuditLine({ action: 'run', script: 'backup', reqid: 'a1b2c3d4e5f60001', peer: '10.0.0.1', exit: 0, dispatcher: 'dispatcher01' }),
    'ACTION=run DISPATCHER=dispatcher01 EXIT=0 PEER=10.0.0.1 REQID=a1b2c3d4e5f60001 SCRIPT=backup',
  );
  assert.equal(formatAuditLine({ action: 'api-stop' }), 'ACTION=api-stop');
});

test('keys sort in ASCII order after upper-casing, not locale order', () => {
  const line = formatAuditLine({ action: 'x', peer_serial: 1, peer: 2, aa: 3, a1: 4, a_b: 5, ab: 6, B: 7, zz: 8 });
  assert.equal(line, 'ACTION=x A1=4 AA=3 AB=6 A_B=5 B=7 PEER=2 PEER_SERIAL=1 ZZ=8');
  // odd characters in a key cannot break the KEY=value grammar
  assert.equal(formatAuditLine({ action: 'x', 'we ird=key': 1 }), 'ACTION=x WE_IRD_KEY=1');
  assert.equal(fieldKey('dispatcher_host'), 'DISPATCHER_HOST');
});

test('ACTION stays first even when it would sort later, and cannot be duplicated', () => {
  assert.equal(formatAuditLine({ action: 'run', aaa: 1, Action: 'forged' }), 'ACTION=run AAA=1');
  assert.equal(formatAuditLine({ zzz: 1, action: 'run' } as never), 'ACTION=run ZZZ=1');
});

test('values with any whitespace are double-quoted, inner quotes not escaped, newlines kept', () => {
  assert.equal(renderValue('two words'), '"two words"');
  assert.equal(renderValue('line1\nline2'), '"line1\nline2"');
  assert.equal(renderValue('tab\there'), '"tab\there"');
  assert.equal(renderValue('cr\r'), '"cr\r"');
  assert.equal(renderValue('nbsp\u00a0x'), '"nbsp\u00a0x"');
  assert.equal(renderValue('say "hi" now'), '"say "hi" now"');
  assert.equal(renderValue('a"b'), 'a"b');
  assert.equal(
    formatAuditLine({ action: 'config-warn', key: 'rate_limit_volume', msg: 'invalid format, expected limit/window/block - using defaults' }),
    'ACTION=config-warn KEY=rate_limit_volume MSG="invalid format, expected limit/window/block - using defaults"',
  );
  assert.equal(formatAuditLine({ action: 'run', error: 'a\nb' }), 'ACTION=run ERROR="a\nb"');
});

test('undefined, null and empty become KEY=; numbers, booleans, arrays rendered as text', () => {
  assert.equal(
    formatAuditLine({ action: 'deny', reason: undefined, dispatcher: null, script: '', peer: '::1' }),
    'ACTION=deny DISPATCHER= PEER=::1 REASON= SCRIPT=',
  );
  assert.equal(
    formatAuditLine({ action: 'dispatch', hosts: ['web-01', 'web-02'], mode: 'sync', count: 12, ok: true, big: 10n, neg: -1.5 }),
    'ACTION=dispatch BIG=10 COUNT=12 HOSTS=web-01,web-02 MODE=sync NEG=-1.5 OK=true',
  );
  assert.equal(formatAuditLine({ action: 'x', list: ['a b', 'c'] }), 'ACTION=x LIST="a b,c"');
  assert.equal(formatAuditLine({ action: 'x', list: [] }), 'ACTION=x LIST=');
  assert.equal(formatAuditLine({ action: 'x', when: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) }), 'ACTION=x WHEN=2026-01-02T03:04:05Z');
  assert.equal(formatAuditLine({ action: 'x', error: new Error('boom now') }), 'ACTION=x ERROR="boom now"');
  assert.equal(formatAuditLine({ action: 'x', obj: { a: 1, token: 'zzzz' } }), 'ACTION=x OBJ={"a":1}');
  assert.equal(formatAuditLine({ action: 'x', f: () => 1 }), 'ACTION=x F=');
});

test('level is not a field; credential-named fields are dropped', () => {
  assert.equal(
    formatAuditLine({
      action: 'auth', level: 'warning', user: 'alice', token: 'T0KEN', api_token: 'x', Password: 'p', client_secret: 's',
      authorization: 'Bearer x', result: 'deny',
    }),
    'ACTION=auth RESULT=deny USER=alice',
  );
  for (const name of ['token', 'TOKEN', 'apiToken', 'password', 'db_password', 'secret', 'Authorization', 'proxy-authorization']) {
    assert.equal(isSensitiveField(name), true, name);
  }
  for (const name of ['authaction', 'user', 'reqid', 'serial', 'peer_serial']) assert.equal(isSensitiveField(name), false, name);
});

test('registered secrets are replaced inside any value, in one pass, longest first', () => {
  const r = new SecretRedactor();
  r.add('abc'); // too short: ignored
  r.add(42 as never); // not a string: ignored
  assert.equal(r.size, 0);
  r.add('tok-1234');
  r.add('tok-1234-extended');
  r.add('a.b*c(d)');
  assert.equal(r.size, 3);
  assert.equal(r.redact('x tok-1234-extended y tok-1234 z'), `x ${REDACTED} y ${REDACTED} z`);
  assert.equal(r.redact('regex a.b*c(d) and aXb*c(d)'), `regex ${REDACTED} and aXb*c(d)`);
  assert.equal(r.redact('nothing here'), 'nothing here');
  assert.equal(
    formatAuditLine({ action: 'run', error: 'hook rejected token tok-1234 for alice', hosts: ['tok-1234'] }, r),
    `ACTION=run ERROR="hook rejected token ${REDACTED} for alice" HOSTS=${REDACTED}`,
  );
  // a secret in the action itself is redacted too
  assert.equal(formatAuditLine({ action: 'tok-1234' }, r), `ACTION=${REDACTED}`);
});

test('JSON record: action first, lowercase names kept, credentials dropped at any depth, secrets redacted', () => {
  const r = new SecretRedactor();
  r.add('s3cr3t-value');
  const rec = auditRecord(
    {
      action: 'run', level: 'err', exit: 1, reqid: 'r', token: 'x', error: 'got s3cr3t-value back', time: 't',
      nested: { password: 'p', ok: [1, { secret: 'z', keep: 's3cr3t-value' }] }, when: undefined,
    },
    r,
  );
  assert.deepEqual(Object.keys(rec)[0], 'action');
  assert.deepEqual(rec, {
    action: 'run', exit: 1, reqid: 'r', error: `got ${REDACTED} back`, field_time: 't',
    nested: { ok: [1, { keep: REDACTED }] },
  });
});

test('control characters escaped as rsyslog shows them; UTF-8 truncation never splits a character', () => {
  assert.equal(escapeControlChars('a\nb\tc\rd\x00e\x7f'), 'a#012b#011c#015d#000e#177');
  assert.equal(escapeControlChars('plain é'), 'plain é');
  assert.equal(truncateUtf8('abc', 10), 'abc');
  assert.equal(truncateUtf8('abcdef', 3), 'abc');
  assert.equal(truncateUtf8('aé', 2), 'a'); // é is 2 bytes
  assert.equal(truncateUtf8('a€b', 3), 'a'); // € is 3 bytes
  assert.equal(truncateUtf8('a€b', 4), 'a€');
  assert.equal(truncateUtf8('😀😀', 5), '😀');
});

test('syslog priorities on facility daemon', () => {
  assert.equal(syslogPriority('info'), 30);
  assert.equal(syslogPriority('warning'), 28);
  assert.equal(syslogPriority('err'), 27);
  assert.equal(normaliseLevel('error'), 'err');
  assert.equal(normaliseLevel('warn'), 'warning');
  assert.equal(normaliseLevel('bogus'), 'info');
});

test('AUDIT_LEVELS covers every ACTION of wire-protocol §10.1/§10.2 with its default level', () => {
  const expected: Record<string, string> = {
    start: 'info', 'accept-fatal': 'err', 'tls-failure': 'warning', 'ip-block': 'warning', overload: 'warning',
    'rate-block': 'warning', 'rate-evict': 'warning', 'revoked-cert': 'warning', 'serial-reject': 'warning', deny: 'warning',
    run: 'info', 'run-async': 'info', 'run-async-busy': 'warning', ping: 'info', capabilities: 'info',
    'capabilities-deny': 'warning', result: 'info', 'result-miss': 'info', 'result-deny': 'warning', rotate: 'info',
    'rotate-deny': 'warning', 'rotate-fail': 'err', renew: 'info', 'renew-complete': 'info', 'cert-promote': 'info',
    'pair-complete': 'info', 'pair-denied': 'warning', 'pair-timeout': 'warning', 'revoked-serials-absent': 'info',
    'config-warn': 'warning', 'stdin-timeout': 'warning', 'schema-skip': 'warning', 'schema-version-derive': 'warning',
    'async-store-fail': 'err', auth: 'info', 'auth-hook-timeout': 'warning',
    dispatch: 'info', 'pairing-mode-start': 'info', 'pairing-mode-stop': 'info', 'pairing-mode-timeout': 'info',
    'pair-request': 'info', 'pair-reject': 'info', 'pair-approve': 'info', 'pair-deny': 'info', unpair: 'info',
    'edit-agent': 'info', maintain: 'info', 'lock-acquire': 'info', 'lock-release': 'info', 'lock-conflict': 'warning',
    'run-store-fail': 'warning', 'api-start': 'info', 'api-stop': 'info', 'api-request': 'info', 'api-overload': 'warning',
    'cert-check': 'info', 'cert-renewal-start': 'info', 'cert-rotated': 'info', 'cert-rotation-fail': 'err',
    'rotation-state-corrupt': 'err', 'serial-broadcast': 'info', 'serial-confirmed': 'info', 'serial-broadcast-fail': 'warning',
    'serial-broadcast-error': 'err', 'serial-stale': 'warning', 'serial-retire': 'info', 'serial-retire-error': 'warning',
    'expire-stale-error': 'warning', 'serial-retire-loop-error': 'warning', 'cert-check-error': 'warning',
    'broadcast-error': 'warning', 'cert-check-warn': 'warning', 'broadcast-retry-error': 'warning',
  };
  for (const [action, level] of Object.entries(expected)) assert.equal(AUDIT_LEVELS[action], level, action);
  assert.equal(Object.isFrozen(AUDIT_LEVELS), true);
});

test('levelOf: explicit level wins, else the catalogue, else info; prototype names are not actions', () => {
  assert.equal(levelOf({ action: 'run' }), 'info');
  assert.equal(levelOf({ action: 'run', level: 'err' }), 'err');
  assert.equal(levelOf({ action: 'deny' }), 'warning');
  assert.equal(levelOf({ action: 'accept-fatal' }), 'err');
  assert.equal(levelOf({ action: 'no-such-action' }), 'info');
  assert.equal(levelOf({ action: 'constructor' }), 'info');
  assert.equal(levelOf({ action: '__proto__' }), 'info');
  assert.equal(levelOf({ action: 42 }), 'info');
});

test('parseSyslogTarget accepts the documented forms', () => {
  assert.deepEqual(parseSyslogTarget('local'), { kind: 'local' });
  assert.deepEqual(parseSyslogTarget(' local '), { kind: 'local' });
  assert.deepEqual(parseSyslogTarget('local', { socket: '/run/alt.sock' }), { kind: 'local', socket: '/run/alt.sock' });
  assert.deepEqual(parseSyslogTarget('local:/run/systemd/journal/dev-log', { socket: '/other' }), {
    kind: 'local', socket: '/run/systemd/journal/dev-log',
  });
  assert.deepEqual(parseSyslogTarget('none'), { kind: 'none' });
  assert.deepEqual(parseSyslogTarget('stderr'), { kind: 'stderr' });
  assert.deepEqual(parseSyslogTarget('tcp://127.0.0.1:514'), { kind: 'tcp', host: '127.0.0.1', port: 514 });
  assert.deepEqual(parseSyslogTarget('tcp://logs.example.com:10514'), { kind: 'tcp', host: 'logs.example.com', port: 10514 });
  assert.deepEqual(parseSyslogTarget('tcp://[::1]:6514'), { kind: 'tcp', host: '::1', port: 6514 });
  assert.deepEqual(parseSyslogTarget('tcp://collector:65535', { ca: '/ignored.pem' }), { kind: 'tcp', host: 'collector', port: 65535 });
  assert.deepEqual(parseSyslogTarget('tls://logs.example.com:6514', { ca: '/etc/ca.pem', socket: undefined }), {
    kind: 'tls', host: 'logs.example.com', port: 6514, ca: '/etc/ca.pem',
  });
  assert.deepEqual(
    parseSyslogTarget('tls://10.1.2.3:6514', { ca: '/ca', cert: '/c', key: '/k', servername: 'logs' }),
    { kind: 'tls', host: '10.1.2.3', port: 6514, ca: '/ca', cert: '/c', key: '/k', servername: 'logs' },
  );
});

test('parseSyslogTarget rejects everything else with CE_ERR_CONFIG_VALUE', () => {
  const bad = [
    '', ' ', 'LOCAL', 'locale', 'local:', 'local:relative/sock', 'local:/with space', `local:/${'x'.repeat(120)}`,
    'syslog', 'udp://127.0.0.1:514', 'tcp://', 'tcp://host', 'tcp://host:', 'tcp://:514', 'tcp://host:0',
    'tcp://host:65536', 'tcp://host:99999999999', 'tcp://host:-1', 'tcp://host:51x', 'tcp://host:514/path',
    'tcp://user@host:514', 'tcp://ho st:514', 'tcp://-host:514', 'tcp://host-:514', 'tcp://a..b:514', 'tcp://1.2.3:514',
    'tcp://[::1:514', 'tcp://[not-ip]:514', 'tcp://::1:514', 'tcp://[1.2.3.4]:514', 'TCP://host:514', 'tcp:/host:514',
    'tls://host:6514', // no CA given
    'tls://host:', 'http://host:80', 'stderr2', 'none;rm -rf /',
  ];
  for (const spec of bad) {
    assert.throws(() => parseSyslogTarget(spec), { code: 'CE_ERR_CONFIG_VALUE' }, JSON.stringify(spec));
  }
  assert.throws(() => parseSyslogTarget('local', { socket: 'relative' }), { code: 'CE_ERR_CONFIG_VALUE' });
  assert.throws(() => parseSyslogTarget('tls://h:1', { ca: '/ca', cert: '/c' }), { code: 'CE_ERR_CONFIG_VALUE' });
  assert.throws(() => parseSyslogTarget(undefined as never), { code: 'CE_ERR_CONFIG_VALUE' });
  assert.throws(() => parseSyslogTarget('bogus', {}, { file: '/etc/ctrl-exec/ctrl-exec.conf', line: 7, key: 'syslog' }), (err: unknown) => {
    const e = err as { code: string; file: string; line: number; key: string; name: string };
    assert.equal(e.code, 'CE_ERR_CONFIG_VALUE');
    assert.equal(e.file, '/etc/ctrl-exec/ctrl-exec.conf');
    assert.equal(e.line, 7);
    assert.equal(e.key, 'syslog');
    return true;
  });
  assert.equal(isValidHostname('a'.repeat(64)), false);
  assert.equal(isValidHostname('host.example.'), true);
});

test('RFC 5424 message and octet-counting frame', () => {
  const date = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
  const msg = formatRfc5424(28, 'ACTION=deny SCRIPT=x', { ident: 'ctrl-exec-agent', host: 'web 01\n', pid: 4242, date });
  assert.equal(msg, '<28>1 2026-01-02T03:04:05.678Z web01 ctrl-exec-agent 4242 - - ACTION=deny SCRIPT=x');
  assert.equal(formatRfc5424(30, 'm', { ident: '', host: '', pid: 1, date }), '<30>1 2026-01-02T03:04:05.678Z - - 1 - - m');
  const frame = frameOctetCounted('é a');
  assert.equal(frame.toString(), '4 é a'); // length counts bytes, not characters
});
