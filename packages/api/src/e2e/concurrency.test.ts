/**
 * Many clients at once over real sockets, two real agents.
 *
 * Locks are per `host:script` and held for the whole dispatch, so concurrent runs of the
 * same script on the same host are meant to conflict (409). The load test therefore gives
 * each of its 200 requests its own pair (2 agents x 100 allowlisted scripts): none may
 * conflict, and each must come back with its own output. A second test then aims 20
 * concurrent requests at one pair: every answer is either that run's own result or a
 * 409 naming the pair, and retrying the 409s eventually runs every one of them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startApi, type RunningApi } from '../app/start.js';
import { makeApiEnv, sharedTeardown, startAgent, type ApiEnv } from '../testing/fixtures.js';
import { httpRequest, type HttpResponse } from '../testing/http.js';

const SCRIPTS = 100;
const shared = sharedTeardown();
let env: ApiEnv;
let api: RunningApi;

before(async () => {
  // 200 requests in flight at once: above the default api_max_children (64).
  env = await makeApiEnv(shared, { api_max_children: 256 });
  const scripts: Record<string, string> = { hold: 'sleep 0.2; echo "hold:$1"' };
  for (let i = 0; i < SCRIPTS; i++) scripts[`s${i}`] = `echo "s${i}:$1"`;
  await Promise.all([startAgent(env, 'agent-0', scripts), startAgent(env, 'agent-1', scripts)]);
  api = await startApi({ config: env.config(), processMetrics: false, docs: false, print: () => undefined });
  env.own(() => api.stop());
});

after(() => shared.run());

function stdoutOf(r: HttpResponse): unknown {
  return (r.json?.results as Array<Record<string, unknown>> | undefined)?.[0]?.stdout;
}

test('200 concurrent /run requests on distinct host:script pairs all return their own result', async () => {
  const tag = randomBytes(4).toString('hex');
  const requests = Array.from({ length: 2 * SCRIPTS }, (_, i) => ({
    host: `agent-${i % 2}`,
    script: `s${Math.floor(i / 2)}`,
    arg: `${tag}-${i}`,
  }));
  const answers = await Promise.all(
    requests.map((q) => httpRequest(`${api.url}/run`, { body: { hosts: [q.host], script: q.script, args: [q.arg] } })),
  );
  const reqids = new Set<string>();
  answers.forEach((r, i) => {
    const q = requests[i]!;
    assert.equal(r.status, 200, `request ${i}: ${r.text}`);
    const [res] = r.json?.results as Array<Record<string, unknown>>;
    assert.equal(res?.host, q.host);
    assert.equal(res?.exit, 0);
    assert.equal(res?.stdout, `${q.script}:${q.arg}\n`);
    reqids.add(String(r.json?.reqid));
  });
  assert.equal(reqids.size, requests.length, 'every run has its own reqid');
  // Every one of them is in the run store.
  for (const reqid of reqids) assert.equal(env.runs.get(reqid)?.mode, 'sync');
});

test('concurrent runs of one host:script: own result or 409 locked, and retries get through', async () => {
  const tag = randomBytes(4).toString('hex');
  const args = Array.from({ length: 20 }, (_, i) => `${tag}-${i}`);
  const send = (arg: string) => httpRequest(`${api.url}/run`, { body: { hosts: ['agent-0'], script: 'hold', args: [arg] } });
  const first = await Promise.all(args.map(send));
  let conflicts = 0;
  const outputs = new Map<string, unknown>();
  const retry: string[] = [];
  first.forEach((r, i) => {
    const arg = args[i]!;
    if (r.status === 409) {
      conflicts++;
      assert.deepEqual(r.json, { ok: false, error: 'locked', code: 4, conflicts: ['agent-0:hold'] });
      retry.push(arg);
    } else {
      assert.equal(r.status, 200, r.text);
      outputs.set(arg, stdoutOf(r));
    }
  });
  assert.ok(conflicts > 0, 'the lock held some of them off');
  assert.ok(outputs.size > 0, 'and let at least one run');
  for (const arg of retry) {
    for (let attempt = 0; ; attempt++) {
      const r = await send(arg);
      if (r.status === 200) {
        outputs.set(arg, stdoutOf(r));
        break;
      }
      assert.equal(r.status, 409);
      assert.ok(attempt < 50, 'a retry got through');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  for (const arg of args) assert.equal(outputs.get(arg), `hold:${arg}\n`);
});
