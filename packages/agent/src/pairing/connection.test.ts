import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, loadCa, type LoadedCa } from '@ctrl-exec/core';
import { interpretVerdict, normaliseLocalAddress, PairingConnection, type PairingRequestBody } from './connection.js';
import { PairingError } from './failure.js';
import { response } from '../testing/pairing-server.js';

let ca: LoadedCa;
let root: string;
before(async () => {
  root = mkdtempSync(join(tmpdir(), 'cea-conn-'));
  await createCa({ dir: join(root, 'ca'), keyBits: 2048 });
  ca = loadCa(join(root, 'ca'));
});
after(() => rmSync(root, { recursive: true, force: true }));

const NONCE = '0123456789abcdef0123456789abcdef';
const BODY: PairingRequestBody = { hostname: 'a', csr: 'x', nonce: NONCE, port: '7443', ip: '127.0.0.1' };

/** A TLS server that answers the first request bytes with `answer(socket)`. */
async function server(t: { after(fn: () => unknown): void }, answer: (s: tls.TLSSocket) => void): Promise<number> {
  const srv = tls.createServer({ cert: ca.certPem, key: ca.keyPem }, (s) => {
    s.on('error', () => undefined);
    s.once('data', () => answer(s));
  });
  const sockets = new Set<net.Socket>();
  srv.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => srv.close(() => r()));
  });
  return (srv.address() as net.AddressInfo).port;
}

const target = { host: '127.0.0.1', address: '127.0.0.1', family: 4 as const };

async function rejects(p: Promise<unknown>, code: string, reason?: RegExp): Promise<PairingError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof PairingError, String(err));
    assert.equal(err.code, code, err.message);
    if (reason) assert.match(err.reason, reason);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('PairingConnection', () => {
  test('ack and verdict in one write, connection held open: stops at Content-Length', async (t) => {
    const port = await server(t, (s) =>
      s.write(Buffer.concat([response({ status: 'pending', reqid: 'abcdef0123456789' }), response({ status: 'approved', cert: 'C', ca: 'A', nonce: NONCE, dispatcher_serial: 'ab', dispatcher_id: 'x' })])),
    );
    const conn = await PairingConnection.open(target, port);
    assert.equal(conn.localAddress, '127.0.0.1');
    assert.deepEqual(await conn.request(BODY), { reqid: 'abcdef0123456789' });
    assert.deepEqual(await conn.verdict(NONCE, { timeoutMs: 5000 }), { certPem: 'C', caPem: 'A', dispatcherSerial: 'ab', dispatcherId: 'x' });
  });

  test('header names are case-insensitive and LF-only heads are read too', async (t) => {
    const json = '{"status":"pending","reqid":"00ff"}';
    const port = await server(t, (s) => s.write(`HTTP/1.0 200 OK\ncontent-length: ${json.length}\n\n${json}`));
    const conn = await PairingConnection.open(target, port);
    assert.deepEqual(await conn.request(BODY), { reqid: '00ff' });
    conn.close();
  });

  test('an acknowledgement with a reqid unsafe to print is not a pairing listener', async (t) => {
    const port = await server(t, (s) => s.end(response({ status: 'pending', reqid: 'abc\u001b[2Jdef' })));
    const conn = await PairingConnection.open(target, port);
    await rejects(conn.request(BODY), 'CE_ERR_PROTOCOL', /not responding as a pairing listener/);
  });

  test('a huge Content-Length is refused without waiting for the body', async (t) => {
    const port = await server(t, (s) => s.write('HTTP/1.0 200 OK\r\nContent-Length: 99999999999\r\n\r\n'));
    const conn = await PairingConnection.open(target, port);
    await rejects(conn.request(BODY, 5000), 'CE_ERR_PROTOCOL', /not responding as a pairing listener/);
  });

  test('an endless head is refused', async (t) => {
    const port = await server(t, (s) => s.write(`HTTP/1.0 200 OK\r\nX: ${'a'.repeat(70_000)}`));
    const conn = await PairingConnection.open(target, port);
    await rejects(conn.request(BODY, 5000), 'CE_ERR_PROTOCOL', /not responding as a pairing listener/);
  });

  test('a silent server times out as not a pairing listener', async (t) => {
    const port = await server(t, () => undefined);
    const conn = await PairingConnection.open(target, port);
    await rejects(conn.request(BODY, 300), 'CE_ERR_PROTOCOL', /not responding as a pairing listener/);
  });

  test('the dispatcher error reason is passed on, control characters escaped', async (t) => {
    const port = await server(t, (s) => s.end(response({ status: 'error', reason: 'invalid\nhostname' })));
    const conn = await PairingConnection.open(target, port);
    const err = await rejects(conn.request(BODY), 'CE_ERR_BAD_REQUEST');
    assert.equal(err.message, 'Pairing failed: invalid\\x0ahostname');
  });

  test('connection closed mid-verdict', async (t) => {
    const port = await server(t, (s) => s.end(Buffer.concat([response({ status: 'pending', reqid: '01' }), Buffer.from('HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\n{"status"')])));
    const conn = await PairingConnection.open(target, port);
    await conn.request(BODY);
    await rejects(conn.verdict(NONCE), 'CE_ERR_PROTOCOL', /closed before a verdict/);
  });

  test('a verdict without Content-Length is refused', async (t) => {
    const port = await server(t, (s) => s.end(Buffer.concat([response({ status: 'pending', reqid: '01' }), Buffer.from('HTTP/1.0 200 OK\r\n\r\n{"status":"approved"}')])));
    const conn = await PairingConnection.open(target, port);
    await conn.request(BODY);
    await rejects(conn.verdict(NONCE), 'CE_ERR_PROTOCOL', /invalid pairing result/);
  });

  test('no verdict within the timeout', async (t) => {
    const port = await server(t, (s) => s.write(response({ status: 'pending', reqid: '01' })));
    const conn = await PairingConnection.open(target, port);
    await conn.request(BODY);
    const err = await rejects(conn.verdict(NONCE, { timeoutMs: 200 }), 'CE_ERR_TIMEOUT');
    assert.equal(err.outcome, 'timeout');
  });

  test('an abort signal ends the wait', async (t) => {
    const port = await server(t, (s) => s.write(response({ status: 'pending', reqid: '01' })));
    const conn = await PairingConnection.open(target, port);
    await conn.request(BODY);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const err = await rejects(conn.verdict(NONCE, { signal: ac.signal }), 'CE_ERR_INTERNAL');
    assert.equal(err.outcome, 'failed');
  });

  test('a TCP peer that is not TLS fails the handshake as not a pairing listener', async (t) => {
    const srv = net.createServer((s) => {
      s.on('error', () => undefined);
      s.resume(); // consume what the client sends, so its close is seen
      s.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => srv.close(() => r())));
    await rejects(PairingConnection.open(target, (srv.address() as net.AddressInfo).port), 'CE_ERR_PROTOCOL', /not responding as a pairing listener/);
  });
});

describe('interpretVerdict', () => {
  test('approved needs our nonce and both certificates', () => {
    assert.equal(interpretVerdict({ status: 'approved', cert: 'C', ca: 'A', nonce: NONCE }, NONCE).dispatcherSerial, '');
    assert.throws(() => interpretVerdict({ status: 'approved', cert: 'C', ca: 'A', nonce: 'other' }, NONCE), /nonce mismatch in pairing result/);
    assert.throws(() => interpretVerdict({ status: 'approved', cert: 'C', ca: 'A' }, NONCE), /nonce mismatch/);
    assert.throws(() => interpretVerdict({ status: 'approved', ca: 'A', nonce: NONCE }, NONCE), /no certificate/);
    assert.throws(() => interpretVerdict({ status: 'approved', cert: 7, ca: 'A', nonce: NONCE }, NONCE), /no certificate/);
  });

  test('denied carries its reason; anything else fails', () => {
    assert.throws(() => interpretVerdict({ status: 'denied', reason: 'approval timeout' }, NONCE), (e: unknown) => e instanceof PairingError && e.message === 'Pairing denied: approval timeout' && e.outcome === 'denied');
    assert.throws(() => interpretVerdict({ status: 'denied' }, NONCE), /^PairingError: Pairing denied: denied$/);
    assert.throws(() => interpretVerdict({ status: 'weird' }, NONCE), (e: unknown) => e instanceof PairingError && e.outcome === 'failed');
  });
});

test('normaliseLocalAddress unwraps IPv4-mapped addresses', () => {
  assert.equal(normaliseLocalAddress('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(normaliseLocalAddress('::1'), '::1');
  assert.equal(normaliseLocalAddress(undefined), '');
});
