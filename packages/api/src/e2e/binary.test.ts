/**
 * The real `ctrl-exec-api` process against real agents: start-up and its line, async
 * runs followed through /status (and `?wait=`), the CLI reading the API's run records and
 * the other way round, graceful SIGTERM, exit codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VERSION } from '@ctrl-exec/core';
import { agentJobDone, API_BIN, CLI_BIN, makeApiEnv, runProcess, startAgent, startApiProcess, waitFor } from '../testing/fixtures.js';
import { httpRequest } from '../testing/http.js';

test('the binary: CTRL_EXEC_CONFIG, api_port = 0, its listening line and api-start', async (t) => {
  const env = await makeApiEnv(t);
  const api = await startApiProcess(env, [], { CTRL_EXEC_CONFIG: env.configPath });
  assert.equal(api.stdout(), `ctrl-exec API listening on 127.0.0.1:${api.port} (plain HTTP)\n`);
  assert.notEqual(api.port, 0);
  const health = await httpRequest(`${api.url}/health`);
  assert.deepEqual(health.json, { ok: true, version: VERSION });
  await waitFor(() => env.audit().find((e) => e.action === 'api-start'), 10_000, 'api-start');
  const start = env.audit().find((e) => e.action === 'api-start')!;
  assert.deepEqual({ bind: start.bind, port: start.port, tls: start.tls }, { bind: '127.0.0.1', port: api.port, tls: 'no' });
  api.proc.kill('SIGINT');
  assert.deepEqual(await api.exited, { code: 0, signal: null });
  assert.ok(env.audit().some((e) => e.action === 'api-stop'));
});

test('async: 202 + Location, pending, ?wait returns as soon as it completes, and the CLI reads the same record', async (t) => {
  const env = await makeApiEnv(t);
  await startAgent(env, 'agent-x', { job: 'sleep 1.5; echo "job:$1"' });
  await startAgent(env, 'agent-y', { job: 'sleep 1.5; echo "job:$1"' });
  const api = await startApiProcess(env, ['--config', env.configPath]);

  const submit = await httpRequest(`${api.url}/run`, { body: { hosts: ['agent-x', 'agent-y'], script: 'job', args: ['A1'], async: true, username: 'erin' } });
  assert.equal(submit.status, 202);
  const reqid = String(submit.json?.reqid);
  assert.equal(submit.headers.location, `/status/${reqid}`);
  assert.deepEqual((submit.json?.results as Array<Record<string, unknown>>).map((r) => r.status), ['accepted', 'accepted']);

  const pending = await httpRequest(`${api.url}${submit.headers.location}`);
  assert.equal(pending.status, 200);
  assert.equal(pending.json?.complete, false);
  assert.deepEqual(pending.json?.pending, ['agent-x', 'agent-y']);
  assert.equal('submitter' in (pending.json ?? {}), false);

  const started = Date.now();
  const done = await httpRequest(`${api.url}/status/${reqid}?wait=10`);
  const waited = Date.now() - started;
  assert.equal(done.status, 200);
  assert.equal(done.json?.complete, true);
  assert.ok(waited < 5000, `answered ${waited} ms after asking, well before 10 s`);
  assert.deepEqual(done.json?.hosts, {
    'agent-x': { status: 'done', exit: 0, stdout: 'job:A1\n', stderr: '' },
    'agent-y': { status: 'done', exit: 0, stdout: 'job:A1\n', stderr: '' },
  });

  // The CLI's status reads the API's record (and sees the same state).
  const cliConf = env.cliConfig();
  const cli = await runProcess(CLI_BIN, ['status', reqid, '--json', '--config', cliConf]);
  assert.equal(cli.code, 0, cli.stderr);
  const viaCli = JSON.parse(cli.stdout) as Record<string, unknown>;
  assert.equal(viaCli.ok, 1);
  assert.equal(viaCli.reqid, reqid);
  assert.equal(viaCli.mode, 'async');
  assert.equal(viaCli.complete, true);
  assert.deepEqual(viaCli.hosts, done.json?.hosts);

  // And the API reads a record the CLI wrote.
  const cliRun = await runProcess(CLI_BIN, ['run', 'agent-x', 'job', '--async', '--json', '--config', cliConf, '--', 'B2']);
  assert.equal(cliRun.code, 0, cliRun.stderr);
  const cliReqid = String((JSON.parse(cliRun.stdout) as Record<string, unknown>).reqid);
  const fromCli = await httpRequest(`${api.url}/status/${cliReqid}?wait=10`);
  assert.equal(fromCli.status, 200);
  assert.equal(fromCli.json?.complete, true);
  assert.deepEqual(fromCli.json?.hosts, { 'agent-x': { status: 'done', exit: 0, stdout: 'job:B2\n', stderr: '' } });

  // A sync run through the API is visible to the CLI too.
  const sync = await httpRequest(`${api.url}/run`, { body: { hosts: ['agent-y'], script: 'job', args: ['C3'] } });
  assert.equal(sync.status, 200);
  const syncCli = await runProcess(CLI_BIN, ['status', String(sync.json?.reqid), '--json', '--config', cliConf]);
  assert.equal(syncCli.code, 0, syncCli.stderr);
  const syncRecord = JSON.parse(syncCli.stdout) as Record<string, unknown>;
  assert.equal(syncRecord.mode, 'sync');
  assert.deepEqual(syncRecord.results, sync.json?.results);
});

test('?wait gives up at its deadline with the record as it stands', async (t) => {
  const env = await makeApiEnv(t);
  await startAgent(env, 'agent-w', { long: 'sleep 3; echo late' });
  const api = await startApiProcess(env, ['--config', env.configPath]);
  const submit = await httpRequest(`${api.url}/run`, { body: { hosts: ['agent-w'], script: 'long', async: true } });
  const started = Date.now();
  const r = await httpRequest(`${api.url}/status/${String(submit.json?.reqid)}?wait=1`);
  const waited = Date.now() - started;
  assert.equal(r.status, 200);
  assert.equal(r.json?.complete, false);
  assert.ok(waited >= 900 && waited < 4000, `waited ${waited} ms`);
  // Let the job finish before the agent's directory goes.
  const end = await httpRequest(`${api.url}/status/${String(submit.json?.reqid)}?wait=10`);
  assert.equal(end.json?.complete, true);
});

test('SIGTERM: the request in flight finishes, then the process exits 0 with api-stop', async (t) => {
  const env = await makeApiEnv(t);
  await startAgent(env, 'agent-s', { slow: 'sleep 1.5; echo "slow:$1"' });
  const api = await startApiProcess(env, ['--config', env.configPath]);
  const inFlight = httpRequest(`${api.url}/run`, { body: { hosts: ['agent-s'], script: 'slow', args: ['last'] } });
  await waitFor(() => env.audit().some((e) => e.action === 'dispatch' && e.script === 'slow'), 10_000, 'the run to be dispatched');
  const signalled = Date.now();
  api.proc.kill('SIGTERM');
  // No longer accepting: a new connection is refused while the run is still going.
  await new Promise((resolve) => setTimeout(resolve, 300));
  await assert.rejects(httpRequest(`${api.url}/health`, { timeoutMs: 2000 }), { code: 'ECONNREFUSED' });
  const r = await inFlight;
  assert.equal(r.status, 200);
  assert.equal((r.json?.results as Array<Record<string, unknown>>)[0]?.stdout, 'slow:last\n');
  const exit = await api.exited;
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(Date.now() - signalled < 8000, 'stopped soon after the last answer');
  const actions = env.audit().map((e) => e.action);
  assert.ok(actions.lastIndexOf('api-stop') > actions.lastIndexOf('run'), 'api-stop after the run finished');
});

test('SIGTERM ends a ?wait early with the record as it stands', async (t) => {
  const env = await makeApiEnv(t);
  await startAgent(env, 'agent-v', { long: 'sleep 3; echo late' });
  const api = await startApiProcess(env, ['--config', env.configPath]);
  const submit = await httpRequest(`${api.url}/run`, { body: { hosts: ['agent-v'], script: 'long', async: true } });
  const reqid = String(submit.json?.reqid);
  const waiting = httpRequest(`${api.url}/status/${reqid}?wait=30`);
  await waitFor(() => env.audit().some((e) => e.action === 'api-request' && String(e.path).includes('wait=30')), 10_000, 'the wait to start');
  await new Promise((resolve) => setTimeout(resolve, 200));
  const signalled = Date.now();
  api.proc.kill('SIGTERM');
  const r = await waiting;
  assert.equal(r.status, 200);
  assert.equal(r.json?.complete, false);
  assert.deepEqual(await api.exited, { code: 0, signal: null });
  assert.ok(Date.now() - signalled < 2500, 'the wait did not hold the shutdown');
  await agentJobDone(env, 'agent-v', reqid);
});

test('exit codes: bad usage 2, configuration error 78 with the file named, --version', async (t) => {
  const usage = await runProcess(API_BIN, ['--bogus']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /Usage: ctrl-exec-api \[--config <path>\]/);
  const version = await runProcess(API_BIN, ['--version']);
  assert.equal(version.code, 0);
  assert.equal(version.stdout, `ctrl-exec-api ${VERSION}\n`);

  const env = await makeApiEnv(t, { api_max_children: 'many' });
  const bad = await runProcess(API_BIN, ['--config', env.configPath]);
  assert.equal(bad.code, 78);
  assert.ok(bad.stderr.startsWith('ctrl-exec-api: '));
  assert.ok(bad.stderr.includes(env.configPath));
  assert.match(bad.stderr, /api_max_children/);
  const missing = await runProcess(API_BIN, ['--config', `${env.dir}/none.conf`]);
  assert.equal(missing.code, 78);
});
