import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { createPublicKey } from 'node:crypto';
import { CERT_REVOKED, SERIAL_MISMATCH, canonicalSerialHex, certInfo, issueCertificate, readTrustedMap, validateCsr } from '@ctrl-exec/core';
import { runAgent } from '../testing/agent-fixture.js';
import { AGENT_NAME, makeServeEnv, readAudit, request, startAgent, waitForAudit, type Identity } from './test-helpers.js';

test('/rotate-serial: a trusted dispatcher adds and removes its own serials; the map reloads at once', async (t) => {
  const env = await makeServeEnv(t);
  const agent = await startAgent(t, env);
  const ca = env.pki.ca.certPem;
  const { dispatcher, dispatcher2, stranger } = env.pki;
  const rotate = (identity: Identity, body: unknown) => request(agent.port, ca, { path: '/rotate-serial', identity, body });

  // Gate first: a CA-signed client missing from the map gets upstream's 403.
  const gated = await rotate(stranger, { serial: stranger.serial, action: 'add' });
  assert.deepEqual([gated.status, gated.body], [403, SERIAL_MISMATCH]);

  const bad = async (body: unknown, error: string) => {
    const r = await rotate(dispatcher, body);
    assert.deepEqual([r.status, r.body], [200, { status: 'error', error }], JSON.stringify(body));
  };
  await bad({}, 'serial required');
  await bad({ serial: '' }, 'serial required');
  await bad({ serial: 42 }, 'serial required');
  await bad({ serial: stranger.serial, action: 'replace' }, "invalid action 'replace'");
  await bad({ serial: 'zz00zz00' }, "invalid serial 'zz00zz00' (8-40 hex digits)");
  await bad({ serial: 'abc' }, "invalid serial 'abc' (8-40 hex digits)");
  await bad({ serial: 'a'.repeat(41) }, `invalid serial '${'a'.repeat(41)}' (8-40 hex digits)`);
  await bad({ serial: `${stranger.serial}; rm -rf /` }, `invalid serial '${stranger.serial}; rm -rf /' (8-40 hex digits)`);

  // Add (action defaults to add): the identity is the caller's, whatever the body says.
  const added = await rotate(dispatcher, { serial: stranger.serial.toUpperCase(), dispatcher: 'dispatcher02' });
  assert.deepEqual([added.status, added.body], [200, { status: 'ok', action: 'add', serial: stranger.serial, dispatcher: 'dispatcher01' }]);
  assert.equal(readTrustedMap(env.trustedMap).lookup(stranger.serial), 'dispatcher01');
  // The running agent trusts it now (no restart, no signal).
  const ping = await request(agent.port, ca, { path: '/ping', identity: stranger, body: { reqid: 'after-add' } });
  assert.equal(ping.status, 200);
  await waitForAudit(env.audit, (e) => e.action === 'rotate' && e.serial_action === 'add' && e.serial === stranger.serial && e.dispatcher === 'dispatcher01');

  // Another dispatcher can neither take that serial over nor remove it.
  const takeOver = await rotate(dispatcher2, { serial: stranger.serial, action: 'add' });
  assert.deepEqual(takeOver.body, { status: 'error', error: "serial owned by 'dispatcher01'" });
  const steal = await rotate(dispatcher2, { serial: stranger.serial, action: 'remove' });
  assert.deepEqual(steal.body, { status: 'error', error: "serial not owned by 'dispatcher02'" });
  // Removing the serial the connection itself presents would lock the caller out.
  const self = await rotate(dispatcher, { serial: dispatcher.serial, action: 'remove' });
  assert.deepEqual(self.body, { status: 'error', error: 'cannot remove the serial this connection presents' });

  // The new certificate retires the old one, as a dispatcher does after the overlap.
  const retired = await rotate(stranger, { serial: dispatcher.serial, action: 'remove' });
  assert.deepEqual(retired.body, { status: 'ok', action: 'remove', serial: dispatcher.serial, dispatcher: 'dispatcher01' });
  const old = await request(agent.port, ca, { path: '/ping', identity: dispatcher, body: {} });
  assert.deepEqual([old.status, old.body], [403, SERIAL_MISMATCH]);
  // Removing a serial that is not there is a no-op success.
  const absent = await rotate(stranger, { serial: '0123456789abcdef', action: 'remove' });
  assert.equal(absent.body.status, 'ok');
  const map = readTrustedMap(env.trustedMap);
  assert.deepEqual(map.entries().map(([, id]) => id).sort(), ['dispatcher01', 'dispatcher02', 'revoked-disp']);
  assert.equal(statSync(env.trustedMap).mode & 0o777, 0o644);
  const fails = readAudit(env.audit).filter((e) => e.action === 'rotate-fail');
  assert.ok(fails.some((e) => e.error === "serial not owned by 'dispatcher02'" && e.dispatcher === 'dispatcher02'));
});

test('/rotate-serial asks the agent hook (action rotate) and honours a denial', async (t) => {
  const env = await makeServeEnv(t);
  const record = join(env.root, 'hook.log');
  const hook = env.script(
    'hook.sh',
    `#!/bin/sh\nprintf '%s|%s|%s\\n' "$ENVEXEC_ACTION" "$ENVEXEC_ARGS_JSON" "$ENVEXEC_DISPATCHER" >> ${record}\n[ "$ENVEXEC_ACTION" = rotate ] && exit 3\nexit 0\n`,
  );
  env.writeConf({ auth_hook: hook });
  const agent = await startAgent(t, env);
  const before = readFileSync(env.trustedMap, 'utf8');
  const r = await request(agent.port, env.pki.ca.certPem, {
    path: '/rotate-serial',
    identity: env.pki.dispatcher,
    body: { serial: env.pki.stranger.serial, action: 'add', token: 'rotate-token-5678' },
  });
  assert.deepEqual([r.status, r.body], [403, { error: 'not authorised: insufficient privilege' }]);
  assert.equal(readFileSync(env.trustedMap, 'utf8'), before);
  assert.equal(readFileSync(record, 'utf8'), `rotate|["add","${env.pki.stranger.serial}"]|dispatcher01\n`);
  await waitForAudit(env.audit, (e) => e.action === 'rotate-deny' && e.reason === 'insufficient privilege');
  assert.equal(readFileSync(env.audit, 'utf8').includes('rotate-token-5678'), false);
});

/** The serial of the certificate the agent serves right now. */
function servedSerial(port: number, ca: string, id: Identity): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, cert: id.cert, key: id.key, checkServerIdentity: () => undefined }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.destroy();
      resolve(canonicalSerialHex(serial));
    });
    socket.on('error', reject);
  });
}

test('/renew and /renew-complete stage a renewed certificate for the same key; promote-cert installs it', async (t) => {
  const env = await makeServeEnv(t);
  const agent = await startAgent(t, env);
  const ca = env.pki.ca.certPem;
  const { stranger, revoked, dispatcher } = env.pki;
  const staged = join(env.stateDir, 'agent.crt.staged');

  // Exempt from the map (a CA-signed stranger may renew), not from revocation.
  const refused = await request(agent.port, ca, { path: '/renew', identity: revoked, body: { reqid: 'r-revoked' } });
  assert.deepEqual([refused.status, refused.body], [403, CERT_REVOKED]);
  const renew = await request(agent.port, ca, { path: '/renew', identity: stranger, body: { reqid: 'r-0001' } });
  assert.equal(renew.status, 200);
  assert.deepEqual(Object.keys(renew.body).sort(), ['csr', 'reqid', 'status']);
  assert.deepEqual([renew.body.status, renew.body.reqid], ['ok', 'r-0001']);
  const csr = validateCsr(renew.body.csr as string, { expectedCn: AGENT_NAME });
  const agentPublic = createPublicKey(env.pki.agent.key).export({ type: 'spki', format: 'der' });
  assert.deepEqual(csr.publicKey.export({ type: 'spki', format: 'der' }), agentPublic, 'CSR made from the existing key');
  await waitForAudit(env.audit, (e) => e.action === 'renew' && e.status === 'csr-generated' && e.reqid === 'r-0001');

  const complete = (cert: unknown) => request(agent.port, ca, { path: '/renew-complete', identity: stranger, body: { cert, ca, reqid: 'r-0001' } });
  const refuse = async (cert: unknown, error: string) => {
    const r = await complete(cert);
    assert.deepEqual([r.status, r.body], [200, { status: 'error', error }]);
    assert.equal(existsSync(staged), false, 'nothing staged');
  };
  await refuse(undefined, 'cert required');
  await refuse('', 'cert required');
  await refuse('not a certificate', 'renewed cert is not a readable certificate');
  await refuse(env.pki.foreign.cert, 'renewed cert does not verify against the agent CA');
  await refuse(dispatcher.cert, 'renewed cert public key does not match the agent key');

  const issued = issueCertificate(env.pki.ca, renew.body.csr as string, { days: 90, expectedCn: AGENT_NAME });
  const ok = await complete(issued.certPem);
  assert.deepEqual([ok.status, ok.body], [200, { status: 'ok', reqid: 'r-0001', staged: true }]);
  assert.equal(readFileSync(staged, 'utf8'), issued.certPem.endsWith('\n') ? issued.certPem : `${issued.certPem}\n`);
  assert.equal(statSync(staged).mode & 0o777, 0o640);
  const pinged = await request(agent.port, ca, { path: '/ping', identity: dispatcher, body: { reqid: 'p1' } });
  assert.equal(pinged.body.staged, true);
  await waitForAudit(env.audit, (e) => e.action === 'renew-complete' && e.status === 'cert-staged' && e.expiry === issued.notAfter);

  // The agent keeps serving its old certificate until it is restarted through promote-cert.
  assert.equal(await servedSerial(agent.port, ca, dispatcher), env.pki.agent.serial);
  await agent.stop();
  const cfg = ['--config', env.conf];
  assert.equal((await runAgent(['cert-staged', ...cfg])).code, 0);
  const promoted = await runAgent(['promote-cert', ...cfg]);
  assert.equal(promoted.code, 0, promoted.stderr);
  assert.match(promoted.stdout, new RegExp(`Certificate installed \\(serial ${issued.serial}, expires `));
  assert.equal(existsSync(staged), false);
  assert.equal(certInfo(readFileSync(join(env.certDir, 'agent.crt'), 'utf8')).serial, issued.serial);
  assert.equal(statSync(join(env.certDir, 'agent.crt')).mode & 0o777, 0o640);
  assert.equal((await runAgent(['cert-staged', ...cfg])).code, 1);
  const again = await runAgent(['promote-cert', ...cfg]);
  assert.deepEqual([again.code, again.stdout], [0, 'No staged certificate.\n']);
  await waitForAudit(env.audit, (e) => e.action === 'cert-promote' && e.status === 'installed' && e.serial === issued.serial);

  const restarted = await startAgent(t, env);
  assert.equal(await servedSerial(restarted.port, ca, dispatcher), issued.serial);
  const ping2 = await request(restarted.port, ca, { path: '/ping', identity: dispatcher, body: {} });
  assert.deepEqual([ping2.body.staged, ping2.body.expiry], [false, issued.notAfter]);
  await restarted.stop();
});

test('promote-cert removes a staged certificate that would not fit and keeps the live one', async (t) => {
  const env = await makeServeEnv(t);
  const staged = join(env.stateDir, 'agent.crt.staged');
  const live = readFileSync(join(env.certDir, 'agent.crt'), 'utf8');
  const cfg = ['--config', env.conf];
  for (const [cert, error] of [
    [env.pki.dispatcher.cert, 'renewed cert public key does not match the agent key'],
    [env.pki.foreign.cert, 'renewed cert does not verify against the agent CA'],
    ['garbage\n', 'renewed cert is not a readable certificate'],
  ] as const) {
    writeFileSync(staged, cert);
    assert.equal((await runAgent(['cert-staged', ...cfg])).code, 1);
    const r = await runAgent(['promote-cert', ...cfg]);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, `Staged certificate refused and removed: ${error}\n`);
    assert.equal(existsSync(staged), false);
    assert.equal(readFileSync(join(env.certDir, 'agent.crt'), 'utf8'), live);
  }
  const events = readAudit(env.audit).filter((e) => e.action === 'cert-promote');
  assert.deepEqual(events.map((e) => [e.level, e.error]), [
    ['warning', 'renewed cert public key does not match the agent key'],
    ['warning', 'renewed cert does not verify against the agent CA'],
    ['warning', 'renewed cert is not a readable certificate'],
  ]);
});
