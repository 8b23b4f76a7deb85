import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import { TLS_POLICY } from '../tls-policy.js';
import { createCa, loadCa } from './ca.js';
import { createCsr } from './csr.js';
import { issueCertificate, type IssuedCert } from './issue.js';
import { generateRsaKey } from './keys.js';
import { canonicalSerialHex } from './serial.js';
import { tempDir } from './test-helpers.js';

interface Pair {
  key: string;
  cert: IssuedCert;
}

async function issuePair(ca: ReturnType<typeof loadCa>, cn: string): Promise<Pair> {
  const key = await generateRsaKey(2048);
  return { key, cert: issueCertificate(ca, createCsr(key, cn), { days: 30 }) };
}

interface ClientResult {
  data: string;
  error: Error | undefined;
}

function connect(port: number, client: Pair, caPem: string): Promise<ClientResult> {
  return new Promise((resolve) => {
    let data = '';
    let error: Error | undefined;
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ...TLS_POLICY,
      key: client.key,
      cert: client.cert.certPem,
      ca: [caPem],
      checkServerIdentity: () => undefined,
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', (err) => (error = err));
    socket.on('close', () => resolve({ data, error }));
  });
}

test('node TLS: mutual authentication with issued certificates, serial seen by the server', async (t) => {
  const dir = tempDir(t);
  await createCa({ dir: join(dir, 'ca'), keyBits: 2048 });
  await createCa({ dir: join(dir, 'rogue'), keyBits: 2048 });
  const ca = loadCa(join(dir, 'ca'));
  const rogue = loadCa(join(dir, 'rogue'));
  const server = await issuePair(ca, 'agent-1.example.com');
  const client = await issuePair(ca, 'ctrl-exec-dispatcher');
  const stranger = await issuePair(rogue, 'ctrl-exec-dispatcher'); // same CN, other CA

  let secureConnections = 0;
  const clientErrors: Error[] = [];
  const srv = tls.createServer(
    { ...TLS_POLICY, key: server.key, cert: server.cert.certPem, ca: [ca.certPem], requestCert: true, rejectUnauthorized: true },
    (socket) => {
      secureConnections++;
      const peer = socket.getPeerCertificate();
      socket.end(`${canonicalSerialHex(peer.serialNumber)} ${peer.subject.CN} ${socket.authorized}`);
    },
  );
  srv.on('tlsClientError', (err) => clientErrors.push(err));
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.after(() => srv.close());
  const { port } = srv.address() as AddressInfo;

  const ok = await connect(port, client, ca.certPem);
  assert.equal(ok.error, undefined);
  assert.equal(ok.data, `${client.cert.serial} ctrl-exec-dispatcher true`);
  assert.equal(secureConnections, 1);

  const refused = await connect(port, stranger, ca.certPem);
  assert.equal(refused.data, '');
  assert.equal(secureConnections, 1);
  // the server reports the failed handshake (it may arrive just after the client sees the close)
  for (let i = 0; i < 50 && clientErrors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(clientErrors.length, 1);

  // the client equally refuses a server certificate from another CA
  const rogueServer = tls.createServer({ ...TLS_POLICY, key: stranger.key, cert: stranger.cert.certPem, ca: [rogue.certPem], requestCert: true });
  rogueServer.on('tlsClientError', () => undefined);
  rogueServer.listen(0, '127.0.0.1');
  await once(rogueServer, 'listening');
  t.after(() => rogueServer.close());
  const wrongServer = await connect((rogueServer.address() as AddressInfo).port, client, ca.certPem);
  assert.ok(wrongServer.error);
  assert.equal(wrongServer.data, '');
});
