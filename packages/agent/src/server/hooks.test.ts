import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeServeEnv, readAudit, request, startAgent, waitForAudit } from './test-helpers.js';

/** A serial as OpenSSL's BN_bn2hex prints it, lower-cased: an even number of digits. */
function bnHex(canonical: string): string {
  return canonical.length % 2 === 1 ? `0${canonical}` : canonical;
}

test('agent auth hook: run and discovery, with the caller in the context', async (t) => {
  const env = await makeServeEnv(t);
  const record = join(env.root, 'hook.log');
  // Deny `secret` (exit 2 = bad credentials) and any discovery by dispatcher02; record what we got.
  const hook = env.script(
    'hook.sh',
    `#!/bin/sh\nprintf '%s|%s|%s|%s|%s|%s\\n' "$ENVEXEC_ACTION" "$ENVEXEC_SCRIPT" "$ENVEXEC_DISPATCHER" "$ENVEXEC_DISPATCHER_SERIAL" "$ENVEXEC_TOKEN" "$ENVEXEC_ARGS_JSON" >> ${record}\n` +
      `[ "$ENVEXEC_SCRIPT" = secret ] && exit 2\n[ "$ENVEXEC_ACTION" = discovery ] && [ "$ENVEXEC_DISPATCHER" = dispatcher02 ] && exit 1\nexit 0\n`,
  );
  env.writeConf({ auth_hook: hook });
  env.writeScripts([`open = ${env.script('open.sh', '#!/bin/sh\necho open\n')}`, `secret = ${env.script('secret.sh', '#!/bin/sh\necho secret\n')}`]);
  const agent = await startAgent(t, env);
  const ca = env.pki.ca.certPem;
  const { dispatcher, dispatcher2 } = env.pki;
  const run = (script: string) =>
    request(agent.port, ca, { path: '/run', identity: dispatcher, body: { script, args: ['x y'], reqid: `h-${script}`, username: 'carol', token: 'hook-token-1234' } });

  const allowed = await run('open');
  assert.deepEqual([allowed.body.exit, allowed.body.stdout], [0, 'open\n']);
  const denied = await run('secret');
  assert.deepEqual(denied.body, { script: 'secret', exit: -1, error: 'not authorised: bad credentials', reqid: 'h-secret' });
  const deny = await waitForAudit(env.audit, (e) => e.action === 'deny' && e.script === 'secret');
  assert.deepEqual([deny.dispatcher, deny.reason, deny.reqid], ['dispatcher01', 'bad credentials', 'h-secret']);
  // Not allowlisted: the hook is never asked.
  assert.equal((await run('absent')).body.error, 'script not permitted');

  const caps = await request(agent.port, ca, { method: 'GET', path: '/capabilities', identity: dispatcher });
  assert.equal(caps.status, 200);
  const caps2 = await request(agent.port, ca, { method: 'GET', path: '/capabilities', identity: dispatcher2 });
  assert.deepEqual([caps2.status, caps2.body], [403, { error: 'not authorised' }]);
  await waitForAudit(env.audit, (e) => e.action === 'capabilities-deny' && e.dispatcher === 'dispatcher02' && e.reason === 'denied');
  // Ping never asks the hook.
  assert.equal((await request(agent.port, ca, { path: '/ping', identity: dispatcher, body: {} })).status, 200);

  const calls = readFileSync(record, 'utf8').trim().split('\n');
  const raw1 = bnHex(dispatcher.serial);
  const raw2 = bnHex(dispatcher2.serial);
  assert.deepEqual(calls, [
    `run|open|dispatcher01|${raw1}|hook-token-1234|["x y"]`,
    `run|secret|dispatcher01|${raw1}|hook-token-1234|["x y"]`,
    `discovery||dispatcher01|${raw1}||[]`,
    `discovery||dispatcher02|${raw2}||[]`,
  ]);
  const auth = readAudit(env.audit).filter((e) => e.action === 'auth');
  assert.deepEqual(
    auth.map((e) => [e.authaction, e.result, e.user]),
    [
      ['run', 'pass', 'carol'],
      ['run', 'deny', 'carol'],
      ['discovery', 'pass', '(none)'],
      ['discovery', 'deny', '(none)'],
    ],
  );
  await agent.stop();
  assert.equal(readFileSync(env.audit, 'utf8').includes('hook-token-1234'), false);
});

test('capabilities fail closed when no dispatcher is trusted', async (t) => {
  const env = await makeServeEnv(t);
  writeFileSync(env.trustedMap, '# empty\n');
  const agent = await startAgent(t, env);
  const r = await request(agent.port, env.pki.ca.certPem, { method: 'GET', path: '/capabilities', identity: env.pki.dispatcher });
  assert.deepEqual([r.status, r.body], [403, { error: 'forbidden' }]);
  const line = await waitForAudit(env.audit, (e) => e.action === 'capabilities-deny');
  assert.equal(line.reason, 'no trusted dispatchers stored');
});
