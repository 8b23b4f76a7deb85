import { test } from 'node:test';
import assert from 'node:assert/strict';
import { channel } from 'node:diagnostics_channel';
import { DISPATCH_HOST_CHANNEL, type DispatchHostMessage } from '@ctrl-exec/dispatcher';
import { startApi } from '../app/start.js';
import { agentJobDone, makeApiEnv, startAgent } from '../testing/fixtures.js';
import { httpRequest } from '../testing/http.js';
import { ApiMetrics, runOutcome } from './metrics.js';

/**
 * Samples of a Prometheus text exposition; throws on any line that is not valid. Values
 * are Go floats (Prometheus parses them with strconv.ParseFloat: NaN and Inf in any case).
 */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? ([-+]?(?:[0-9.]+(?:e[-+]?\d+)?|nan|inf))( \d+)?$/i;
  const META = /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$/;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      assert.match(line, META);
      continue;
    }
    const m = SAMPLE.exec(line);
    assert.ok(m, `not a Prometheus sample: ${line}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return samples;
}

function hostMessage(over: Partial<DispatchHostMessage>): DispatchHostMessage {
  return { reqid: 'r1', op: 'run', host: 'h', target: '127.0.0.1:1', ok: true, rttMs: 12, ...over };
}

test('runOutcome: sync ok / failed / error, async accepted / busy / error', () => {
  assert.equal(runOutcome({ op: 'run', ok: true }), 'ok');
  assert.equal(runOutcome({ op: 'run', ok: false }), 'failed');
  assert.equal(runOutcome({ op: 'run', ok: false, code: 'CE_ERR_UNREACHABLE' }), 'error');
  assert.equal(runOutcome({ op: 'run-async', ok: true }), 'accepted');
  assert.equal(runOutcome({ op: 'run-async', ok: false, code: 'CE_ERR_LOCKED' }), 'busy');
  assert.equal(runOutcome({ op: 'run-async', ok: false, code: 'CE_ERR_PROTOCOL' }), 'error');
});

test('ApiMetrics counts only the operations it owns, and stops at close()', async () => {
  const metrics = new ApiMetrics({ processMetrics: false });
  const other = new ApiMetrics({ processMetrics: false });
  const ch = channel(DISPATCH_HOST_CHANNEL);
  const release = metrics.own('mine');
  ch.publish(hostMessage({ reqid: 'mine', host: 'a', rttMs: 30 }));
  ch.publish(hostMessage({ reqid: 'mine', host: 'b', ok: false }));
  ch.publish(hostMessage({ reqid: 'someone-else', host: 'c' }));
  ch.publish(hostMessage({ reqid: 'mine', op: 'ping', host: 'a' }));
  release();
  ch.publish(hostMessage({ reqid: 'mine', host: 'a' }));
  const samples = parsePrometheus(await metrics.text());
  assert.equal(samples.get('ctrl_exec_api_runs_total{mode="sync",outcome="ok"}'), 1);
  assert.equal(samples.get('ctrl_exec_api_runs_total{mode="sync",outcome="failed"}'), 1);
  assert.equal(samples.get('ctrl_exec_api_agent_rtt_seconds_count{op="run",host="a"}'), 1);
  assert.equal(samples.get('ctrl_exec_api_agent_rtt_seconds_sum{op="run",host="a"}'), 0.03);
  assert.equal(samples.get('ctrl_exec_api_agent_rtt_seconds_count{op="ping",host="a"}'), 1);
  assert.equal(samples.has('ctrl_exec_api_agent_rtt_seconds_count{op="run",host="c"}'), false);
  assert.equal(parsePrometheus(await other.text()).has('ctrl_exec_api_runs_total{mode="sync",outcome="ok"}'), false);
  metrics.close();
  other.close();
  const again = metrics.own('mine');
  ch.publish(hostMessage({ reqid: 'mine', host: 'a' }));
  again();
  assert.equal(parsePrometheus(await metrics.text()).get('ctrl_exec_api_runs_total{mode="sync",outcome="ok"}'), 1);
});

test('GET /metrics: Prometheus text, open, and the run counter grows by one per /run host', async (t) => {
  const env = await makeApiEnv(t, { api_auth_default: 'deny' });
  const hook = env.executable('hook', '#!/bin/sh\n[ "$ENVEXEC_ACTION" = api ] && exit 0\n[ "$ENVEXEC_TOKEN" = ok-token ] && exit 0\nexit 1\n');
  env.configure({ auth_hook: hook });
  await startAgent(env, 'agent-m1', { echo: 'echo "$1"', bad: 'exit 4' });
  await startAgent(env, 'agent-m2', { echo: 'echo "$1"', bad: 'exit 4' });
  const api = await startApi({ config: env.config(), docs: false, print: () => undefined });
  env.own(() => api.stop());
  const scrape = async () => {
    const r = await httpRequest(`${api.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return parsePrometheus(r.text);
  };
  const okRuns = 'ctrl_exec_api_runs_total{mode="sync",outcome="ok"}';
  const failedRuns = 'ctrl_exec_api_runs_total{mode="sync",outcome="failed"}';
  const before = await scrape();
  assert.ok(before.has('process_cpu_user_seconds_total'), 'process metrics are exported');
  assert.equal(before.get('ctrl_exec_api_agent_connections{state="open"}'), 0, 'no agent connection before the first run');

  const two = await httpRequest(`${api.url}/run`, { body: { hosts: ['agent-m1', 'agent-m2'], script: 'echo', args: ['m'], token: 'ok-token' } });
  assert.equal(two.status, 200);
  const s1 = await scrape();
  assert.equal((s1.get(okRuns) ?? 0) - (before.get(okRuns) ?? 0), 2);
  assert.equal(s1.get('ctrl_exec_api_agent_connections{state="open"}'), 2, 'one kept-alive connection per agent');
  assert.equal(s1.get('ctrl_exec_api_agent_connections{state="idle"}'), 2);
  assert.equal(s1.get('ctrl_exec_api_agent_connections{state="queued"}'), 0);

  const one = await httpRequest(`${api.url}/run`, { body: { hosts: ['agent-m1'], script: 'bad', token: 'ok-token' } });
  assert.equal(one.status, 200);
  const s2 = await scrape();
  assert.equal(s2.get(okRuns), s1.get(okRuns));
  assert.equal((s2.get(failedRuns) ?? 0) - (s1.get(failedRuns) ?? 0), 1);

  const asyncRun = await httpRequest(`${api.url}/run`, { body: { hosts: ['agent-m2'], script: 'echo', async: true, token: 'ok-token' } });
  assert.equal(asyncRun.status, 202);
  await agentJobDone(env, 'agent-m2', String(asyncRun.json?.reqid));
  const denied = await httpRequest(`${api.url}/run`, { body: { hosts: ['agent-m2'], script: 'echo' } });
  assert.equal(denied.status, 403);

  const s3 = await scrape();
  assert.equal(s3.get('ctrl_exec_api_runs_total{mode="async",outcome="accepted"}'), 1);
  assert.equal(s3.get('ctrl_exec_api_agent_rtt_seconds_count{op="run",host="agent-m1"}'), 2);
  assert.equal(s3.get('ctrl_exec_api_requests_total{method="POST",route="/run",status="200"}'), 2);
  assert.equal(s3.get('ctrl_exec_api_requests_total{method="POST",route="/run",status="202"}'), 1);
  assert.equal(s3.get('ctrl_exec_api_requests_total{method="POST",route="/run",status="403"}'), 1);
  assert.equal(s3.get('ctrl_exec_api_auth_decisions_total{action="run",result="pass"}'), 3);
  assert.equal(s3.get('ctrl_exec_api_auth_decisions_total{action="run",result="deny"}'), 1);
  assert.ok((s3.get('ctrl_exec_api_requests_total{method="GET",route="/metrics",status="200"}') ?? 0) >= 3);
  assert.equal(s3.get('ctrl_exec_api_requests_in_flight'), 1, 'the scrape itself');
});
