import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { SAFE_PATH, certInfo } from '@ctrl-exec/core';
import {
  alive,
  AGENT_NAME,
  makeServeEnv,
  rawExchange,
  readAudit,
  request,
  sleep,
  startAgent,
  waitForAudit,
  type Identity,
} from './test-helpers.js';

const TOKEN = 'tok-very-secret-4711';

test('agent server: routes, gates and script execution', async (t) => {
  const env = await makeServeEnv(t, { extra: { stdin_timeout: '1' } });
  const s = (name: string, body: string) => env.script(name, `#!/bin/sh\n${body}\n`);
  const hello = s('hello.sh', 'echo "hello $*"\necho "to stderr" >&2');
  writeFileSync(`${hello}.schema.json`, JSON.stringify({ description: 'says hello', version: '1.2.0', destructive: false }));
  const deploy = s('deploy.sh', 'exit 0');
  writeFileSync(`${deploy}.schema.json`, '{ "b": 1, "a": [1, 2, {"z": true, "y": null}] }');
  const broken = s('broken.sh', 'exit 0');
  writeFileSync(`${broken}.schema.json`, '{ not json');
  env.writeScripts([
    `hello = ${hello}`,
    `deploy = ${deploy}`,
    `broken = ${broken}`,
    `context = ${s('context.sh', 'cat')}`,
    `fail = ${s('fail.sh', 'echo partial\necho oops >&2\nexit 3')}`,
    `argv = ${s('argv.sh', "printf '%s\\0' \"$@\"")}`,
    `envdump = ${s('envdump.sh', 'env')}`,
    `bigerr = ${s('bigerr.sh', "head -c 52428800 /dev/zero | tr '\\000' x >&2\necho done")}`,
    `slow = ${s('slow.sh', 'sleep 60 &\necho $! > "$1"\nsleep 60')} timeout=1`,
    `nostdin = ${s('nostdin.sh', 'echo early')}`,
    `sleepy = ${s('sleepy.sh', 'sleep 1.5\necho awake')}`,
    `missing = ${join(env.scriptsDir, 'not-there.sh')}`,
  ]);
  const agent = await startAgent(t, env, { env: { LD_PRELOAD: '/nonexistent/ce-test-preload.so', BASH_ENV: '/tmp/evil', CE_TEST_LEAK: 'leak', LANG: 'C.UTF-8' } });
  const ca = env.pki.ca.certPem;
  const { dispatcher, stranger, revoked, foreign } = env.pki;
  const run = (body: unknown, identity: Identity = dispatcher) => request(agent.port, ca, { path: '/run', identity, body });

  await t.test('POST /run: result, exit, both streams, reqid', async () => {
    const r = await run({ script: 'hello', args: ['a', 'b'], reqid: 'req-hello-1', username: 'alice', token: TOKEN });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { script: 'hello', exit: 0, stdout: 'hello a b\n', stderr: 'to stderr\n', reqid: 'req-hello-1' });
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.raw));
    assert.equal(r.headers['transfer-encoding'], undefined);
    const line = await waitForAudit(env.audit, (e) => e.action === 'run' && e.reqid === 'req-hello-1');
    assert.equal(line.level, 'info');
    assert.deepEqual(
      { dispatcher: line.dispatcher, exit: line.exit, peer: line.peer, script: line.script },
      { dispatcher: 'dispatcher01', exit: 0, peer: '127.0.0.1', script: 'hello' },
    );
  });

  await t.test('the script gets the request context on stdin', async () => {
    const r = await run({ script: 'context', args: ['x'], reqid: 'req-ctx', username: 'bob', token: TOKEN });
    const ctx = JSON.parse(r.body.stdout as string) as Record<string, unknown>;
    assert.deepEqual(Object.keys(ctx), ['script', 'args', 'reqid', 'peer_ip', 'username', 'token', 'dispatcher', 'timestamp']);
    assert.deepEqual({ ...ctx, timestamp: undefined }, {
      script: 'context', args: ['x'], reqid: 'req-ctx', peer_ip: '127.0.0.1', username: 'bob', token: TOKEN, dispatcher: 'dispatcher01', timestamp: undefined,
    });
    assert.match(ctx.timestamp as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  await t.test('a non-zero exit is a normal result, logged at INFO', async () => {
    const r = await run({ script: 'fail', args: [], reqid: 'req-fail' });
    assert.deepEqual(r.body, { script: 'fail', exit: 3, stdout: 'partial\n', stderr: 'oops\n', reqid: 'req-fail' });
    const line = await waitForAudit(env.audit, (e) => e.action === 'run' && e.reqid === 'req-fail');
    assert.equal(line.exit, 3);
    assert.equal(line.level, 'info');
  });

  await t.test('a script that cannot be executed: exit 127', async () => {
    const r = await run({ script: 'missing', args: [], reqid: 'req-missing' });
    assert.equal(r.body.exit, 127);
    assert.match(r.body.stderr as string, /ENOENT/);
  });

  await t.test('POST /ping', async () => {
    const r = await request(agent.port, ca, { path: '/ping', identity: dispatcher, body: { reqid: 'ping-1' } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {
      status: 'ok',
      host: AGENT_NAME,
      version: r.body.version,
      expiry: certInfo(env.pki.agent.cert).notAfter,
      staged: false,
      reqid: 'ping-1',
    });
    assert.equal(typeof r.body.version, 'string');
    await waitForAudit(env.audit, (e) => e.action === 'ping' && e.reqid === 'ping-1' && e.dispatcher === 'dispatcher01');
    writeFileSync(join(env.stateDir, 'agent.crt.staged'), env.pki.agent.cert);
    const staged = await request(agent.port, ca, { path: '/ping', identity: dispatcher, body: { reqid: 'ping-2' } });
    assert.equal(staged.body.staged, true);
  });

  await t.test('GET /capabilities: scripts by name, sidecars, tags', async () => {
    const r = await request(agent.port, ca, { method: 'GET', path: '/capabilities', identity: dispatcher });
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'ok');
    assert.equal(r.body.host, AGENT_NAME);
    assert.deepEqual(r.body.tags, { env: 'test', role: 'web' });
    const scripts = r.body.scripts as Array<Record<string, unknown>>;
    assert.deepEqual(
      scripts.map((x) => x.name),
      ['argv', 'bigerr', 'broken', 'context', 'deploy', 'envdump', 'fail', 'hello', 'missing', 'nostdin', 'sleepy', 'slow'],
    );
    const byName = new Map(scripts.map((x) => [x.name, x]));
    assert.deepEqual(byName.get('hello'), {
      name: 'hello',
      path: hello,
      executable: true,
      profile: 'default',
      schema: { description: 'says hello', version: '1.2.0', destructive: false },
      schema_version: '1.2.0',
    });
    assert.match(byName.get('deploy')!.schema_version as string, /^sha256:[0-9a-f]{12}$/);
    assert.equal(byName.get('broken')!.schema, undefined);
    assert.equal(byName.get('missing')!.executable, false);
    const skip = readAudit(env.audit).find((e) => e.action === 'schema-skip');
    assert.equal(skip?.script, 'broken');
    assert.match(String(skip?.reason), /^invalid JSON: /);
    await waitForAudit(env.audit, (e) => e.action === 'capabilities' && e.scripts === 12);
  });

  await t.test('a client without a certificate fails the handshake (tls-failure)', async () => {
    await assert.rejects(request(agent.port, ca, { path: '/ping', identity: null, body: {}, localAddress: '127.0.0.8' }));
    const line = await waitForAudit(env.audit, (e) => e.action === 'tls-failure' && e.peer === '127.0.0.8');
    assert.equal(line.level, 'warning');
  });

  await t.test('a certificate from another CA fails the handshake', async () => {
    await assert.rejects(request(agent.port, ca, { path: '/ping', identity: foreign, body: {}, localAddress: '127.0.0.9' }));
    await waitForAudit(env.audit, (e) => e.action === 'tls-failure' && e.peer === '127.0.0.9');
  });

  await t.test('a revoked serial: 403 certificate revoked', async () => {
    const r = await request(agent.port, ca, { path: '/run', identity: revoked, body: { script: 'hello', reqid: 'r-rev' }, localAddress: '127.0.0.6' });
    assert.equal(r.status, 403);
    assert.deepEqual(r.body, { error: 'certificate revoked' });
    const line = await waitForAudit(env.audit, (e) => e.action === 'revoked-cert');
    assert.deepEqual({ peer: line.peer, serial: line.serial }, { peer: '127.0.0.6', serial: revoked.serial });
  });

  await t.test('a serial not in the trusted map: 403 serial mismatch', async () => {
    for (const path of ['/run', '/ping']) {
      const r = await request(agent.port, ca, { path, identity: stranger, body: { script: 'hello', reqid: `sm-${path.slice(1)}` }, localAddress: '127.0.0.5' });
      assert.equal(r.status, 403);
      assert.deepEqual(r.body, { error: 'serial mismatch', status: 'forbidden' });
    }
    const res = await request(agent.port, ca, { method: 'GET', path: '/result/abc', identity: stranger, localAddress: '127.0.0.5' });
    assert.deepEqual([res.status, res.body], [403, { error: 'serial mismatch', status: 'forbidden' }]);
    const line = await waitForAudit(env.audit, (e) => e.action === 'serial-reject' && e.reqid === 'sm-run');
    assert.deepEqual({ peer: line.peer, peer_serial: line.peer_serial }, { peer: '127.0.0.5', peer_serial: stranger.serial });
    const caps = await request(agent.port, ca, { method: 'GET', path: '/capabilities', identity: stranger, localAddress: '127.0.0.5' });
    assert.deepEqual([caps.status, caps.body], [403, { error: 'forbidden' }]);
    await waitForAudit(env.audit, (e) => e.action === 'capabilities-deny' && e.reason === 'serial-mismatch');
    const noReqid = await request(agent.port, ca, { path: '/run', identity: stranger, rawBody: 'junk', localAddress: '127.0.0.5' });
    assert.equal(noReqid.status, 403);
    await waitForAudit(env.audit, (e) => e.action === 'serial-reject' && e.reqid === '(none)');
  });

  await t.test('more than 32 headers: 431; 32 are fine', async () => {
    const headers = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, 'v']));
    // Host, Content-Type, Content-Length and Connection are sent too.
    const ok = await request(agent.port, ca, { path: '/ping', identity: dispatcher, body: { reqid: 'h32' }, headers: headers(28) });
    assert.equal(ok.status, 200);
    const r = await request(agent.port, ca, { path: '/ping', identity: dispatcher, body: { reqid: 'h33' }, headers: headers(29) });
    assert.equal(r.status, 431);
    assert.deepEqual(r.body, { error: 'too many headers' });
    const huge = await request(agent.port, ca, { path: '/ping', identity: dispatcher, body: {}, headers: { 'x-big': 'b'.repeat(20_000) } });
    assert.deepEqual([huge.status, huge.body], [431, { error: 'too many headers' }]);
    const garbage = await rawExchange(agent.port, ca, dispatcher, 'NOT A REQUEST\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.0 400 Bad Request\r\n[\s\S]*\{"error":"bad request"\}$/);
  });

  await t.test('a body over 1 MiB: 413 without reading it', async () => {
    const big = Buffer.alloc(1024 * 1024 + 1, 0x61);
    const r = await request(agent.port, ca, { path: '/run', identity: dispatcher, rawBody: big });
    assert.equal(r.status, 413);
    assert.deepEqual(r.body, { error: 'request too large' });
    const declared = await rawExchange(
      agent.port,
      ca,
      dispatcher,
      'POST /run HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n{',
    );
    assert.match(declared, /^HTTP\/1\.[01] 413 /);
    assert.match(declared, /\{"error":"request too large"\}$/);
  });

  await t.test('unknown route: 404', async () => {
    for (const [method, path] of [['GET', '/run'], ['POST', '/nothing'], ['GET', '/result/../x'], ['POST', '/run?x=1']] as const) {
      const r = await request(agent.port, ca, { method, path, identity: dispatcher, body: {} });
      assert.deepEqual([r.status, r.body], [404, { error: 'not found' }], `${method} ${path}`);
    }
  });

  await t.test('script names outside the allowlist: script not permitted', async () => {
    for (const script of ['../etc/passwd', 'nope', '/bin/sh', 'hello;id', '', 'héllo']) {
      const r = await run({ script, args: [], reqid: 'req-deny' });
      assert.deepEqual(r.body, { script, exit: -1, error: 'script not permitted', reqid: 'req-deny' }, script);
    }
    const noScript = await run({ args: [], reqid: 'req-deny2' });
    assert.equal(noScript.body.error, 'script not permitted');
    const line = await waitForAudit(env.audit, (e) => e.action === 'deny' && e.script === '../etc/passwd');
    assert.deepEqual({ peer: line.peer, reqid: line.reqid, reason: line.reason }, { peer: '127.0.0.1', reqid: 'req-deny', reason: undefined });
  });

  await t.test('invalid JSON and bad args are refused', async () => {
    for (const raw of ['{not json', '[1,2]', '"text"', '']) {
      const r = await request(agent.port, ca, { path: '/run', identity: dispatcher, rawBody: raw });
      assert.deepEqual([r.status, r.body], [200, { exit: -1, error: 'invalid JSON' }], raw);
    }
    for (const args of ['a b', { a: 1 }, [1, 2], ['ok', null], ['ok', ['nested']], 7]) {
      const r = await run({ script: 'hello', args, reqid: 'req-args' });
      assert.deepEqual(r.body, { exit: -1, error: 'args must be an array', reqid: 'req-args' }, JSON.stringify(args));
    }
  });

  await t.test('arguments arrive byte-identical, no shell', async () => {
    const hostile = ['; rm -rf /', '$(id)', '`id`', 'a b', '"double"', "'single'", 'line1\nline2', '\ttab', '*', '', '--', '-n', 'ünïcode ✓', '\\'];
    const many = Array.from({ length: 1000 }, (_, i) => `arg-${i} ${'x'.repeat(i % 7)}`);
    for (const args of [hostile, many]) {
      const r = await run({ script: 'argv', args, reqid: 'req-argv' });
      assert.equal(r.body.exit, 0);
      assert.deepEqual((r.body.stdout as string).split('\0').slice(0, -1), args);
    }
  });

  await t.test("the agent's environment does not reach the script", async () => {
    const r = await run({ script: 'envdump', args: [], reqid: 'req-env' });
    const vars = new Map(
      (r.body.stdout as string)
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    assert.equal(vars.get('PATH'), SAFE_PATH);
    assert.equal(vars.get('LANG'), 'C.UTF-8');
    for (const bad of ['LD_PRELOAD', 'BASH_ENV', 'CE_TEST_LEAK', 'NODE_OPTIONS']) assert.equal(vars.has(bad), false, bad);
  });

  await t.test('50 MB on stderr: capped, with the true byte count', async () => {
    const r = await run({ script: 'bigerr', args: [], reqid: 'req-big' });
    assert.equal(r.body.exit, 0);
    assert.equal(r.body.stdout, 'done\n');
    assert.equal(r.body.truncated, true);
    assert.equal(r.body.stderr_bytes, 52_428_800);
    assert.equal(r.body.stdout_bytes, 5);
    const stderr = r.body.stderr as string;
    assert.ok(stderr.length < 1024 * 1024 + 200 && stderr.length > 1024 * 1024 - 200, String(stderr.length));
    assert.match(stderr, /bytes omitted/);
  });

  await t.test('timeout=1 kills the script and what it started', async () => {
    const pidFile = join(env.root, 'slow.pid');
    const started = Date.now();
    const r = await run({ script: 'slow', args: [pidFile], reqid: 'req-slow' });
    assert.ok(Date.now() - started < 10_000);
    assert.equal(r.body.exit, 126);
    assert.equal(r.body.timed_out, true);
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    const deadline = Date.now() + 5_000;
    while (alive(pid) && Date.now() < deadline) await sleep(50);
    assert.equal(alive(pid), false);
  });

  await t.test('a script that never reads its stdin still gives its output', async () => {
    const args = Array.from({ length: 50 }, () => 'y'.repeat(8 * 1024));
    const r = await run({ script: 'nostdin', args, reqid: 'req-nostdin' });
    assert.deepEqual(r.body, { script: 'nostdin', exit: 0, stdout: 'early\n', stderr: '', reqid: 'req-nostdin' });
  });

  await t.test('stdin not taken within stdin_timeout: closed, logged, the script still runs', async () => {
    const args = Array.from({ length: 25 }, () => 'z'.repeat(8 * 1024));
    const r = await run({ script: 'sleepy', args, reqid: 'req-sleepy' });
    assert.deepEqual([r.body.exit, r.body.stdout], [0, 'awake\n']);
    const line = await waitForAudit(env.audit, (e) => e.action === 'stdin-timeout' && e.reqid === 'req-sleepy');
    assert.equal(line.level, 'warning');
    assert.ok(typeof line.bytes === 'number' && line.bytes > 0);
  });

  await t.test('HTTP/1.0 client: one exchange with Content-Length, then close', async () => {
    const body = JSON.stringify({ reqid: 'http10' });
    const out = await rawExchange(
      agent.port,
      ca,
      dispatcher,
      `POST /ping HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    const [head, payload] = out.split('\r\n\r\n');
    assert.match(head!, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head!, /\r\nContent-Type: application\/json/i);
    const length = /\r\nContent-Length: (\d+)/i.exec(head!);
    assert.equal(Number(length?.[1]), Buffer.byteLength(payload!));
    assert.doesNotMatch(head!, /chunked/i);
    assert.equal((JSON.parse(payload!) as Record<string, unknown>).reqid, 'http10');
  });

  await t.test('HTTP/1.1 keep-alive: several requests on one connection', async () => {
    const pool = new https.Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => pool.destroy());
    const sockets = new Set<unknown>();
    pool.on('free', (socket) => sockets.add(socket));
    for (let i = 0; i < 5; i++) {
      const r = await request(agent.port, ca, { path: '/ping', identity: dispatcher, body: { reqid: `ka-${i}` }, agent: pool });
      assert.equal(r.status, 200);
      assert.equal(r.headers.connection, 'keep-alive');
    }
    assert.equal(sockets.size, 1);
  });

  await t.test('audit lines carry the reqid and never the token', async () => {
    await agent.stop();
    const text = readFileSync(env.audit, 'utf8');
    assert.equal(text.includes(TOKEN), false);
    const runs = readAudit(env.audit).filter((e) => e.action === 'run');
    assert.ok(runs.length >= 8);
    for (const e of runs) assert.equal(typeof e.reqid, 'string');
    assert.ok(readAudit(env.audit).some((e) => e.action === 'start' && e.port === agent.port));
  });
});
