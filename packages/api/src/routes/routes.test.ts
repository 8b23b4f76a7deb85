/**
 * Route-level checks through fastify.inject, against one real agent: every endpoint's
 * success body (features B.1 fields and JSON types) and every error answer.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { acquireLocks, VERSION, type AuditLogger, type HeldLocks } from '@ctrl-exec/core';
import { apiAuditLogger } from '../app/audit.js';
import { buildApiServer } from '../app/build.js';
import { STATIC_OPENAPI_PATH } from '../openapi/document.js';
import { agentJobDone, makeApiEnv, sharedTeardown, startAgent, type ApiEnv } from '../testing/fixtures.js';

const shared = sharedTeardown();
let env: ApiEnv;
let app: FastifyInstance;
let audit: AuditLogger;
let agentPort: number;

const HEX16 = /^[a-f0-9]{16}$/;
const RTT = /^\d+ms$/;

before(async () => {
  env = await makeApiEnv(shared);
  ({ port: agentPort } = await startAgent(env, 'agent-a', {
    echo: 'echo "out:$*"',
    fail: 'echo "bad" >&2; exit 3',
    slow: 'sleep 1; echo slow-done',
  }, { tags: { env: 'test', role: 'web' } }));
  audit = apiAuditLogger(env.config());
  env.own(() => audit.close());
  app = await buildApiServer({ config: env.config(), audit, processMetrics: false, statusPollMs: 50 });
  env.own(() => app.close());
});

after(() => shared.run());

async function call(method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) {
  const r = await app.inject({
    method: method as 'GET',
    url,
    ...(payload !== undefined ? { payload: payload as string } : {}),
    headers,
  });
  return { status: r.statusCode, headers: r.headers, body: JSON.parse(r.body) as Record<string, unknown>, raw: r.body };
}

test('GET / lists the service and exactly upstream\'s eight endpoints', async () => {
  const r = await call('GET', '/');
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  assert.deepEqual(r.body, {
    name: 'ctrl-exec-api',
    version: VERSION,
    spec: '/openapi.json',
    live_spec: '/openapi-live.json',
    endpoints: [
      { method: 'GET', path: '/health' },
      { method: 'POST', path: '/ping' },
      { method: 'POST', path: '/run' },
      { method: 'GET', path: '/discovery' },
      { method: 'POST', path: '/discovery' },
      { method: 'GET', path: '/status/{reqid}' },
      { method: 'GET', path: '/openapi.json' },
      { method: 'GET', path: '/openapi-live.json' },
    ],
  });
});

test('GET /health answers {ok:true, version}', async () => {
  const r = await call('GET', '/health');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { ok: true, version: VERSION });
});

test('POST /ping: per-host results with upstream\'s fields and types', async () => {
  const r = await call('POST', '/ping', { hosts: ['agent-a'] });
  assert.equal(r.status, 200);
  assert.equal(r.body.ok, true);
  assert.deepEqual(Object.keys(r.body).sort(), ['ok', 'results']);
  const [res] = r.body.results as Array<Record<string, unknown>>;
  assert.equal(res?.host, 'agent-a');
  assert.equal(res?.status, 'ok');
  assert.match(String(res?.rtt), RTT);
  assert.equal(typeof res?.version, 'string');
  assert.match(String(res?.expiry), /^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} GMT$/);
  assert.equal(typeof res?.staged, 'boolean');
  assert.match(String(res?.reqid), HEX16);
});

test('POST /ping: unknown agents are a 404 naming every one', async () => {
  const one = await call('POST', '/ping', { hosts: ['agent-a', 'nope'] });
  assert.equal(one.status, 404);
  assert.deepEqual(one.body, { ok: false, error: 'unknown agent', detail: 'not a registered agent: nope' });
  const two = await call('POST', '/ping', { hosts: ['x1', 'agent-a', 'x2:9000'] });
  assert.deepEqual(two.body, { ok: false, error: 'unknown agent', detail: 'not a registered agent: x1, x2' });
});

test('POST /run (sync): 200 {ok, reqid, results} and a sync record in the run store', async () => {
  const r = await call('POST', '/run', { hosts: ['agent-a'], script: 'echo', args: ['one', 'two'], username: 'alice' });
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.body).sort(), ['ok', 'reqid', 'results']);
  assert.equal(r.body.ok, true);
  assert.match(String(r.body.reqid), HEX16);
  const results = r.body.results as Array<Record<string, unknown>>;
  assert.equal(results.length, 1);
  const res = results[0]!;
  assert.equal(res.host, 'agent-a');
  assert.equal(res.script, 'echo');
  assert.equal(res.exit, 0);
  assert.ok(Number.isInteger(res.exit));
  assert.equal(res.stdout, 'out:one two\n');
  assert.equal(res.stderr, '');
  assert.equal(res.reqid, r.body.reqid);
  assert.match(String(res.rtt), RTT);

  const record = JSON.parse(readFileSync(join(env.stateDir, 'runs', `${String(r.body.reqid)}.json`), 'utf8')) as Record<string, unknown>;
  assert.equal(record.mode, 'sync');
  assert.equal(record.script, 'echo');
  assert.deepEqual(record.hosts, ['agent-a']);
  assert.equal(record.complete, true);
  assert.ok(Number.isInteger(record.completed));
  assert.deepEqual(record.submitter, { username: 'alice', source_ip: '127.0.0.1' });
  assert.deepEqual(record.results, results);
});

test('POST /run: a failing script is a result (exit N), an unlisted one exit -1', async () => {
  const r = await call('POST', '/run', { hosts: ['agent-a'], script: 'fail' });
  assert.equal(r.status, 200);
  const [res] = r.body.results as Array<Record<string, unknown>>;
  assert.equal(res?.exit, 3);
  assert.equal(res?.stderr, 'bad\n');
  const denied = await call('POST', '/run', { hosts: ['agent-a'], script: 'not-there' });
  assert.equal(denied.status, 200);
  const [d] = denied.body.results as Array<Record<string, unknown>>;
  assert.equal(d?.exit, -1);
  assert.equal(d?.error, 'script not permitted');
});

test('POST /run (async): 202, Location, accepted results and an async record with the submitter', async () => {
  const r = await call('POST', '/run', { hosts: ['agent-a'], script: 'slow', async: true, username: 'bob' });
  assert.equal(r.status, 202);
  const reqid = String(r.body.reqid);
  assert.match(reqid, HEX16);
  assert.equal(r.headers.location, `/status/${reqid}`);
  assert.deepEqual(Object.keys(r.body).sort(), ['async', 'ok', 'reqid', 'results']);
  assert.equal(r.body.async, true);
  const [res] = r.body.results as Array<Record<string, unknown>>;
  assert.deepEqual({ host: res?.host, script: res?.script, status: res?.status, reqid: res?.reqid }, { host: 'agent-a', script: 'slow', status: 'accepted', reqid });
  assert.match(String(res?.rtt), RTT);
  const record = env.runs.get(reqid);
  assert.equal(record?.mode, 'async');
  assert.deepEqual(record?.submitter, { username: 'bob', source_ip: '127.0.0.1' });

  // A second submit of the same script while it runs: the agent says busy.
  const busy = await call('POST', '/run', { hosts: ['agent-a'], script: 'slow', async: true });
  assert.equal(busy.status, 202);
  const [b] = busy.body.results as Array<Record<string, unknown>>;
  assert.equal(b?.status, 'busy');
  assert.equal(b?.error, 'script already running');

  const done = await call('GET', `/status/${reqid}?wait=10`);
  assert.equal(done.status, 200);
  assert.equal(done.body.complete, true);
  assert.deepEqual(done.body.hosts, { 'agent-a': { status: 'done', exit: 0, stdout: 'slow-done\n', stderr: '' } });
  assert.deepEqual(done.body.pending, []);
  assert.ok(Number.isInteger(done.body.created));
  assert.equal('submitter' in done.body, false);
});

const BAD_BODIES: Array<[string, unknown, string, Record<string, string>?]> = [
  ['no body', undefined, 'request body required'],
  ['an empty body', '', 'request body required', { 'content-type': 'application/json' }],
  ['invalid JSON', '{"hosts":', 'invalid JSON body', { 'content-type': 'application/json' }],
  ['a JSON array', '[1,2]', 'invalid JSON body', { 'content-type': 'application/json' }],
  ['a JSON string', '"run"', 'invalid JSON body', { 'content-type': 'application/json' }],
  ['no hosts', { script: 'echo' }, 'hosts must be a non-empty array'],
  ['empty hosts', { hosts: [], script: 'echo' }, 'hosts must be a non-empty array'],
  ['hosts a string', { hosts: 'agent-a', script: 'echo' }, 'hosts must be a non-empty array'],
  ['hosts of numbers', { hosts: [1], script: 'echo' }, 'hosts must be a non-empty array'],
  ['501 hosts', { hosts: Array.from({ length: 501 }, (_, i) => `h${i}`), script: 'echo' }, 'too many hosts (max 500)'],
  ['no script', { hosts: ['agent-a'] }, 'script name required (alphanumeric and hyphens only)'],
  ['a bad script name', { hosts: ['agent-a'], script: '../etc/passwd' }, 'script name required (alphanumeric and hyphens only)'],
  ['a script with a space', { hosts: ['agent-a'], script: 'a b' }, 'script name required (alphanumeric and hyphens only)'],
  ['args not an array', { hosts: ['agent-a'], script: 'echo', args: 'x' }, 'args must be an array'],
  ['args of numbers', { hosts: ['agent-a'], script: 'echo', args: ['a', 2] }, 'args must be an array of strings'],
  ['async not a boolean', { hosts: ['agent-a'], script: 'echo', async: 'yes' }, 'async must be a boolean'],
  ['username not a string', { hosts: ['agent-a'], script: 'echo', username: 7 }, 'username must be a string'],
  ['token not a string', { hosts: ['agent-a'], script: 'echo', token: { t: 1 } }, 'token must be a string'],
  // Several problems: upstream's order of checks decides the message.
  ['hosts wrong and script missing', { hosts: 'x' }, 'hosts must be a non-empty array'],
  ['script and args wrong', { hosts: ['agent-a'], script: 'no!', args: 'x' }, 'script name required (alphanumeric and hyphens only)'],
];

for (const [what, payload, detail, headers] of BAD_BODIES) {
  test(`POST /run with ${what}: 400 ${detail}`, async () => {
    const r = await call('POST', '/run', payload, headers ?? {});
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, { ok: false, error: 'bad request', detail });
  });
}

test('POST /ping validation: body, JSON, hosts', async () => {
  assert.deepEqual((await call('POST', '/ping')).body, { ok: false, error: 'bad request', detail: 'request body required' });
  assert.deepEqual((await call('POST', '/ping', 'nope', { 'content-type': 'application/json' })).body, { ok: false, error: 'bad request', detail: 'invalid JSON body' });
  assert.deepEqual((await call('POST', '/ping', { hosts: [] })).body, { ok: false, error: 'bad request', detail: 'hosts must be a non-empty array' });
});

test('a body is read as JSON whatever its Content-Type (curl -d sends form-urlencoded)', async () => {
  for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'application/octet-stream']) {
    const r = await call('POST', '/run', JSON.stringify({ hosts: ['agent-a'], script: 'echo', args: [type] }), { 'content-type': type });
    assert.equal(r.status, 200, type);
    assert.equal((r.body.results as Array<Record<string, unknown>>)[0]?.stdout, `out:${type}\n`);
  }
});

test('a __proto__ key in a body is dropped, never merged into anything', async () => {
  const r = await call('POST', '/run', '{"hosts":["agent-a"],"script":"echo","__proto__":{"polluted":"yes"},"args":["p"]}', { 'content-type': 'application/json' });
  assert.equal(r.status, 200);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('POST /run: unknown agent 404; a held lock 409 before any unknown agent, and no lock files for unknown names', async () => {
  const unknown = await call('POST', '/run', { hosts: ['agent-a', 'ghost-1', 'ghost-2'], script: 'echo' });
  assert.equal(unknown.status, 404);
  assert.deepEqual(unknown.body, { ok: false, error: 'unknown agent', detail: 'not a registered agent: ghost-1, ghost-2' });

  const locksDir = join(env.stateDir, 'locks');
  let held: HeldLocks | undefined = acquireLocks(locksDir, [{ host: 'agent-a', script: 'echo' }]);
  try {
    const locked = await call('POST', '/run', { hosts: ['agent-a'], script: 'echo' });
    assert.equal(locked.status, 409);
    assert.deepEqual(locked.body, { ok: false, error: 'locked', code: 4, conflicts: ['agent-a:echo'] });
    const both = await call('POST', '/run', { hosts: ['ghost-3', 'agent-a'], script: 'echo' });
    assert.equal(both.status, 409, 'the lock is checked before the registry');
    assert.deepEqual(both.body.conflicts, ['agent-a:echo']);
    const asyncLocked = await call('POST', '/run', { hosts: ['agent-a'], script: 'echo', async: true });
    assert.equal(asyncLocked.status, 409);
    // Another script on the same host is not locked.
    assert.equal((await call('POST', '/run', { hosts: ['agent-a'], script: 'fail' })).status, 200);
  } finally {
    held.release();
    held = undefined;
  }
  assert.equal((await call('POST', '/run', { hosts: ['agent-a'], script: 'echo' })).status, 200);
  assert.deepEqual(
    readdirSync(locksDir).filter((f) => f.startsWith('ghost')),
    [],
  );
  await audit.flush();
  const conflicts = env.audit().filter((e) => e.action === 'lock-conflict');
  assert.ok(conflicts.some((e) => e.conflicts === 'agent-a:echo'));
});

test('GET and POST /discovery: capabilities keyed by registry name; tags cached in the registry', async () => {
  env.registry.update('agent-a', (r) => ({ ...r, tags: {} }));
  const r = await call('GET', '/discovery');
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.body).sort(), ['hosts', 'ok']);
  const hosts = r.body.hosts as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(hosts), ['agent-a']);
  const a = hosts['agent-a']!;
  assert.equal(a.host, 'agent-a');
  assert.equal(a.status, 'ok');
  assert.equal(typeof a.version, 'string');
  assert.match(String(a.rtt), RTT);
  assert.deepEqual(a.tags, { env: 'test', role: 'web' });
  const scripts = a.scripts as Array<Record<string, unknown>>;
  assert.deepEqual(scripts.map((s) => s.name).sort(), ['echo', 'fail', 'slow']);
  for (const s of scripts) {
    assert.equal(typeof s.path, 'string');
    assert.equal(typeof s.executable, 'boolean');
  }
  assert.deepEqual(env.registry.get('agent-a')?.tags, { env: 'test', role: 'web' });

  const post = await call('POST', '/discovery', { hosts: ['agent-a'] });
  assert.equal(post.status, 200);
  assert.deepEqual(Object.keys(post.body.hosts as object), ['agent-a']);
  // Unparsable or empty POST bodies are `{}`: every agent.
  const junk = await call('POST', '/discovery', '{{{', { 'content-type': 'application/json' });
  assert.equal(junk.status, 200);
  assert.deepEqual(Object.keys(junk.body.hosts as object), ['agent-a']);
  assert.equal((await call('POST', '/discovery')).status, 200);
  const unknown = await call('POST', '/discovery', { hosts: ['ghost'] });
  assert.equal(unknown.status, 404);
  assert.deepEqual(unknown.body, { ok: false, error: 'unknown agent', detail: 'not a registered agent: ghost' });
  const bad = await call('POST', '/discovery', { hosts: 'agent-a' });
  assert.deepEqual(bad.body, { ok: false, error: 'bad request', detail: 'hosts must be an array' });
});

test('GET /status: a sync record with its fields, never the submitter', async () => {
  const run = await call('POST', '/run', { hosts: ['agent-a'], script: 'echo', args: ['st'], username: 'carol' });
  const reqid = String(run.body.reqid);
  const r = await call('GET', `/status/${reqid}`);
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.body).sort(), ['complete', 'completed', 'hosts', 'mode', 'ok', 'reqid', 'results', 'script']);
  assert.equal(r.body.ok, true);
  assert.equal(r.body.mode, 'sync');
  assert.equal(r.body.complete, true);
  assert.deepEqual(r.body.hosts, ['agent-a']);
  assert.ok(Number.isInteger(r.body.completed));
  assert.deepEqual(r.body.results, run.body.results);
});

test('GET /status: unknown, expired and malformed reqids', async () => {
  const missing = await call('GET', '/status/0123456789abcdef');
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.body, { ok: false, error: 'not found', detail: 'no result for reqid 0123456789abcdef' });

  for (const bad of ['XYZ', '0123ABCD', 'abc-def', 'g1']) {
    const r = await call('GET', `/status/${bad}`);
    assert.equal(r.status, 404, bad);
    assert.deepEqual(r.body, { ok: false, error: 'not found', detail: `no route for GET /status/${bad}` });
  }

  const run = await call('POST', '/run', { hosts: ['agent-a'], script: 'echo' });
  const reqid = String(run.body.reqid);
  const path = join(env.stateDir, 'runs', `${reqid}.json`);
  const old = (Date.now() - 86_400_000 - 60_000) / 1000;
  utimesSync(path, old, old);
  const expired = await call('GET', `/status/${reqid}`);
  assert.equal(expired.status, 404);
  assert.deepEqual(expired.body, { ok: false, error: 'not found', detail: `no result for reqid ${reqid}` });
  assert.equal(existsSync(path), false, 'an expired record is removed');

  writeFileSync(join(env.stateDir, 'runs', 'abcabc.json'), '{not json');
  const broken = await call('GET', '/status/abcabc');
  assert.equal(broken.status, 500);
  assert.deepEqual(broken.body, { ok: false, error: 'server error', detail: 'cannot read result' });

  const badWait = await call('GET', '/status/abcabc?wait=soon');
  assert.equal(badWait.status, 400);
  assert.deepEqual(badWait.body, { ok: false, error: 'bad request', detail: 'wait must be a number of seconds' });
});

test('GET /status: an odd stored record (upstream or hand-edited) is still answered as JSON', async () => {
  const reqid = 'ddd0000000000001';
  writeFileSync(
    join(env.stateDir, 'runs', `${reqid}.json`),
    JSON.stringify({ reqid, script: 'x', mode: 'sync', hosts: ['h'], results: [{ host: 'h', exit: 'zero', stdout: 5, extra: [1] }], completed: 5, complete: true }),
  );
  const r = await call('GET', `/status/${reqid}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.results, [{ host: 'h', exit: 'zero', stdout: 5, extra: [1] }]);
});

test('GET /openapi.json serves the committed document verbatim; a missing one is 404', async () => {
  const r = await app.inject({ url: '/openapi.json' });
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  assert.equal(r.body, readFileSync(STATIC_OPENAPI_PATH, 'utf8'));

  const other = await buildApiServer({ config: env.config(), processMetrics: false, docs: false, openapiPath: join(env.dir, 'nope.json') });
  try {
    const missing = await other.inject({ url: '/openapi.json' });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(JSON.parse(missing.body), { ok: false, error: 'not found', detail: 'openapi.json not installed' });
    const live = await other.inject({ url: '/openapi-live.json' });
    assert.equal(live.statusCode, 404);
  } finally {
    await other.close();
  }
  writeFileSync(join(env.dir, 'broken.json'), '{"openapi":');
  const broken = await buildApiServer({ config: env.config(), processMetrics: false, docs: false, openapiPath: join(env.dir, 'broken.json') });
  try {
    const live = await broken.inject({ url: '/openapi-live.json' });
    assert.equal(live.statusCode, 500);
    const body = JSON.parse(live.body) as Record<string, unknown>;
    assert.equal(body.ok, false);
    assert.match(String(body.detail), /^cannot parse base spec: /);
  } finally {
    await broken.close();
  }
});

test('GET /openapi-live.json lists the registered hosts and their scripts', async () => {
  const r = await app.inject({ url: '/openapi-live.json' });
  assert.equal(r.statusCode, 200);
  const doc = JSON.parse(r.body) as {
    info: { version: string };
    components: { schemas: Record<string, { properties: Record<string, { items?: { enum?: string[] }; enum?: string[] }> }> };
    'x-ctrl-exec-scripts': Record<string, Array<{ hosts: string[] }>>;
  };
  assert.match(doc.info.version, new RegExp(`^${VERSION.replace(/\./g, '\\.')}\\+\\d{10}$`));
  for (const schema of ['PingRequest', 'RunRequest', 'DiscoveryRequest']) {
    assert.deepEqual(doc.components.schemas[schema]?.properties.hosts?.items?.enum, ['agent-a'], schema);
  }
  assert.deepEqual(doc.components.schemas.RunRequest?.properties.script?.enum, ['echo', 'fail', 'slow']);
  assert.deepEqual(doc['x-ctrl-exec-scripts'], { echo: [{ hosts: ['agent-a'] }], fail: [{ hosts: ['agent-a'] }], slow: [{ hosts: ['agent-a'] }] });
});

test('anything else is 404 "no route for <METHOD> <path>"', async () => {
  for (const [method, url] of [
    ['GET', '/nope'],
    ['GET', '/run'],
    ['DELETE', '/run'],
    ['PUT', '/health'],
    ['POST', '/health'],
    ['GET', '/health/'],
    ['GET', '/status/'],
    ['PATCH', '/x/y?z=1'],
  ] as const) {
    const r = await call(method, url);
    assert.equal(r.status, 404, `${method} ${url}`);
    assert.deepEqual(r.body, { ok: false, error: 'not found', detail: `no route for ${method} ${url}` });
  }
});

test('an unexpected failure is 500 {"ok":false,"error":"server error"} without internals', async () => {
  const config = env.config();
  const { createDispatcher } = await import('@ctrl-exec/dispatcher');
  const engine = createDispatcher({ config });
  const broken = new Proxy(engine, {
    get(target, prop, receiver) {
      if (prop === 'ping') return () => Promise.reject(new Error('secret internal detail /etc/x'));
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  const seen: unknown[] = [];
  const other = await buildApiServer({ config, processMetrics: false, docs: false, dispatcher: broken, onUnexpectedError: (err) => seen.push(err) });
  try {
    const r = await other.inject({ method: 'POST', url: '/ping', payload: { hosts: ['agent-a'] } });
    assert.equal(r.statusCode, 500);
    assert.deepEqual(JSON.parse(r.body), { ok: false, error: 'server error', detail: 'internal error' });
    assert.equal(seen.length, 1);
  } finally {
    await other.close();
    engine.close();
  }
});

test('a body over 1 MiB is 413 in the envelope (inject)', async () => {
  const r = await call('POST', '/run', `{"hosts":["agent-a"],"script":"echo","args":["${'x'.repeat(1_048_576)}"]}`, { 'content-type': 'application/json' });
  assert.equal(r.status, 413);
  assert.deepEqual(r.body, { ok: false, error: 'payload too large', detail: 'body exceeds 1048576 bytes' });
});

test('a run store that cannot be written: run-store-fail is logged and the run is still answered', async (t) => {
  const other = await makeApiEnv(t);
  other.register('agent-a', agentPort);
  writeFileSync(join(other.stateDir, 'runs'), 'a file where the runs directory should be');
  const otherAudit = apiAuditLogger(other.config());
  const server = await buildApiServer({ config: other.config(), audit: otherAudit, processMetrics: false, docs: false });
  other.own(async () => {
    await server.close();
    await otherAudit.close();
  });
  for (const payload of [{ hosts: ['agent-a'], script: 'echo', args: ['kept'] }, { hosts: ['agent-a'], script: 'echo', async: true }]) {
    const r = await server.inject({ method: 'POST', url: '/run', payload });
    assert.ok(r.statusCode === 200 || r.statusCode === 202, r.body);
    const body = JSON.parse(r.body) as Record<string, unknown>;
    assert.equal(body.ok, true);
    await otherAudit.flush();
    const fail = other.audit().find((e) => e.action === 'run-store-fail' && e.reqid === body.reqid);
    assert.ok(fail, 'run-store-fail logged');
    assert.equal(fail.level, 'warning');
    assert.equal(typeof fail.error, 'string');
    if (r.statusCode === 202) await agentJobDone(env, 'agent-a', String(body.reqid));
  }
});

test('every request is audited as api-request {len, method, path, peer}', async () => {
  await call('POST', '/ping', { hosts: ['agent-a'] });
  await audit.flush();
  const lines = env.audit().filter((e) => e.action === 'api-request' && e.path === '/ping');
  assert.ok(lines.length > 0);
  const last = lines[lines.length - 1]!;
  assert.equal(last.method, 'POST');
  assert.equal(last.peer, '127.0.0.1');
  assert.equal(last.len, JSON.stringify({ hosts: ['agent-a'] }).length);
});
