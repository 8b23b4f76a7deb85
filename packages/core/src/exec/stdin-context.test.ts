import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildStdinContext } from './stdin-context.js';

const fields = {
  script: 'backup',
  args: ['--full', 'two words', 'quote"and\\back', 'ünï 日本', ''],
  reqid: 'a1b2c3d4',
  peer_ip: '127.0.0.1',
  username: 'alice',
  token: 's3cret',
  dispatcher: 'dispatcher01',
};

test('buildStdinContext: exact JSON, keys in the documented order, compact', () => {
  const json = buildStdinContext({ ...fields, timestamp: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)) });
  assert.equal(
    json,
    '{"script":"backup","args":["--full","two words","quote\\"and\\\\back","ünï 日本",""],"reqid":"a1b2c3d4",' +
      '"peer_ip":"127.0.0.1","username":"alice","token":"s3cret","dispatcher":"dispatcher01","timestamp":"2026-01-02T03:04:05Z"}',
  );
  assert.deepEqual(Object.keys(JSON.parse(json)), ['script', 'args', 'reqid', 'peer_ip', 'username', 'token', 'dispatcher', 'timestamp']);
});

test('buildStdinContext: string timestamp verbatim, now when omitted, non-string args kept', () => {
  assert.equal(JSON.parse(buildStdinContext({ ...fields, timestamp: '2020-02-02T02:02:02Z' })).timestamp, '2020-02-02T02:02:02Z');
  const now = JSON.parse(buildStdinContext(fields)).timestamp as string;
  assert.match(now, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  assert.ok(Math.abs(Date.parse(now) - Date.now()) < 5_000);
  assert.deepEqual(JSON.parse(buildStdinContext({ ...fields, args: [1, true, null] })).args, [1, true, null]);
});

test('buildStdinContext: control characters and a hostile token are escaped, not interpreted', () => {
  const json = buildStdinContext({ ...fields, token: 'a"}\n,"script":"x', args: ['\u0001\t'] });
  const parsed = JSON.parse(json);
  assert.equal(parsed.script, 'backup');
  assert.equal(parsed.token, 'a"}\n,"script":"x');
  assert.equal(parsed.args[0], '\u0001\t');
  assert.ok(!json.includes('\n'));
});
