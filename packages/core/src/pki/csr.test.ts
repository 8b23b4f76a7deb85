import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import forge from 'node-forge';
import { createCsr, validateCsr } from './csr.js';
import { algorithm, bits, decodeStrict, encode, oid, pemEncode, seq, set, smallInt, utf8, type Asn1 } from './der.js';
import { generateRsaKey } from './keys.js';
import { openssl, opensslCsr, opensslStatus, pemFile, tempDir } from './test-helpers.js';

function derOf(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

function csrPem(der: Buffer): string {
  return pemEncode('CERTIFICATE REQUEST', der);
}

/** A CSR with an arbitrary subject Name, properly self-signed with keyPem. */
function csrWithName(keyPem: string, name: Asn1): string {
  const key = createPrivateKey(keyPem);
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const info = seq([smallInt(0), name, decodeStrict(spki), forge.asn1.create(forge.asn1.Class.CONTEXT_SPECIFIC, 0, true, [])]);
  const sig = sign('sha256', encode(info), key);
  return csrPem(encode(seq([info, algorithm('1.2.840.113549.1.1.11'), bits(sig)])));
}

function rdn(type: string, value: Asn1): Asn1 {
  return set([seq([oid(type), value])]);
}

function rejects(pem: unknown, code: string, opts?: { expectedCn?: string }): void {
  assert.throws(
    () => validateCsr(pem as string, opts),
    (err: Error & { code?: string; name?: string }) => {
      assert.equal(err.code, code);
      assert.equal(err.name, 'CsrRejectedError');
      return true;
    },
  );
}

test('a good openssl CSR is accepted and described', async (t) => {
  const dir = tempDir(t);
  const pem = opensslCsr(dir, 'good', ['-newkey', 'rsa:2048', '-subj', '/CN=web-01.example.com']);
  const v = validateCsr(pem);
  assert.equal(v.commonName, 'web-01.example.com');
  assert.equal(v.bits, 2048);
  assert.equal(v.signatureAlgorithm, 'sha256WithRSAEncryption');
  assert.equal(v.publicKey.asymmetricKeyType, 'rsa');
  assert.equal(validateCsr(pem, { expectedCn: 'web-01.example.com' }).commonName, 'web-01.example.com');
  // CRLF line endings and a trailing blank line are still one PEM block
  assert.equal(validateCsr(`${pem.replace(/\n/g, '\r\n')}\r\n`).commonName, 'web-01.example.com');
  // sha512 is fine too
  const strong = opensslCsr(dir, 'strong', ['-newkey', 'rsa:3072', '-sha512', '-subj', '/CN=s']);
  assert.equal(validateCsr(strong).signatureAlgorithm, 'sha512WithRSAEncryption');
  assert.equal(validateCsr(strong).bits, 3072);
});

test('hostile CSRs are refused, each with its own code', async (t) => {
  const dir = tempDir(t);
  const good = opensslCsr(dir, 'good', ['-newkey', 'rsa:2048', '-subj', '/CN=web-01.example.com']);

  // 1024-bit key (exact upstream text)
  const small = opensslCsr(dir, 'small', ['-newkey', 'rsa:1024', '-subj', '/CN=small']);
  assert.throws(() => validateCsr(small), { code: 'CE_ERR_CSR_KEY_TOO_SMALL', message: 'CSR public key too small (need >= 2048 bits)' });

  // SHA-1 and MD5 signatures (exact upstream text)
  const sha1 = opensslCsr(dir, 'sha1', ['-newkey', 'rsa:2048', '-sha1', '-subj', '/CN=sha1']);
  assert.throws(() => validateCsr(sha1), {
    code: 'CE_ERR_CSR_WEAK_DIGEST',
    message: 'CSR uses a weak or unrecognised signature algorithm (sha1WithRSAEncryption)',
  });
  openssl(['req', '-new', '-key', `${dir}/good.key`, '-md5', '-subj', '/CN=md5', '-out', `${dir}/md5.csr`]);
  rejects(openssl(['req', '-in', `${dir}/md5.csr`]), 'CE_ERR_CSR_WEAK_DIGEST');

  // not PEM at all, PEM of something else, leading whitespace before the header
  rejects('hello world', 'CE_ERR_CSR_NOT_PEM');
  rejects('', 'CE_ERR_CSR_NOT_PEM');
  rejects(` ${good}`, 'CE_ERR_CSR_NOT_PEM');
  rejects(`\n${good}`, 'CE_ERR_CSR_NOT_PEM');
  rejects(good.replace(/CERTIFICATE REQUEST/g, 'NEW CERTIFICATE REQUEST'), 'CE_ERR_CSR_NOT_PEM');
  rejects(derOf(good).toString('latin1'), 'CE_ERR_CSR_NOT_PEM');
  rejects(undefined, 'CE_ERR_CSR_NOT_PEM');
  rejects({ csr: good }, 'CE_ERR_CSR_NOT_PEM');

  // too large, whatever it contains (size is checked first)
  rejects('A'.repeat(20 * 1024), 'CE_ERR_CSR_TOO_LARGE');
  rejects(`-----BEGIN CERTIFICATE REQUEST-----\n${'QUFB\n'.repeat(4096)}-----END CERTIFICATE REQUEST-----\n`, 'CE_ERR_CSR_TOO_LARGE');
  rejects(` ${good}${' '.repeat(10240)}`, 'CE_ERR_CSR_TOO_LARGE');
  // the limit is 10,240 bytes exactly (multi-byte characters count as bytes)
  assert.equal(validateCsr(good + '\n'.repeat(10240 - Buffer.byteLength(good))).commonName, 'web-01.example.com');
  rejects(good + '\n'.repeat(10241 - Buffer.byteLength(good)), 'CE_ERR_CSR_TOO_LARGE');
  rejects(good + '\n'.repeat(10240 - Buffer.byteLength(good) - 1) + 'é', 'CE_ERR_CSR_TOO_LARGE');

  // broken self-signature: flip a bit inside the signature value
  const der = derOf(good);
  const broken = Buffer.from(der);
  broken[broken.length - 10]! ^= 0x01;
  rejects(csrPem(broken), 'CE_ERR_CSR_BAD_SIGNATURE');
  // ... or inside the signed part (the subject's CN)
  const tampered = Buffer.from(der);
  const at = tampered.indexOf(Buffer.from('web-01'));
  tampered[at] = 'W'.charCodeAt(0);
  rejects(csrPem(tampered), 'CE_ERR_CSR_BAD_SIGNATURE');

  // EC P-256 and RSA-PSS keys are not RSA
  rejects(opensslCsr(dir, 'ec', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-subj', '/CN=ec']), 'CE_ERR_CSR_NOT_RSA');
  rejects(opensslCsr(dir, 'pss', ['-newkey', 'rsa-pss', '-pkeyopt', 'rsa_keygen_bits:2048', '-subj', '/CN=pss']), 'CE_ERR_CSR_NOT_RSA');

  // an unrecognised signature algorithm (rsassaPss OID in place of sha256WithRSAEncryption)
  const sigAlg = Buffer.from('300d06092a864886f70d01010b0500', 'hex');
  const algAt = der.lastIndexOf(sigAlg);
  assert.ok(algAt > 0);
  const unknownAlg = Buffer.from(der);
  unknownAlg[algAt + 12] = 0x0a;
  assert.throws(() => validateCsr(csrPem(unknownAlg)), {
    code: 'CE_ERR_CSR_WEAK_DIGEST',
    message: 'CSR uses a weak or unrecognised signature algorithm (1.2.840.113549.1.1.10)',
  });

  // CN binding (exact, case-sensitive)
  rejects(good, 'CE_ERR_CSR_CN_MISMATCH', { expectedCn: 'web-02.example.com' });
  rejects(good, 'CE_ERR_CSR_CN_MISMATCH', { expectedCn: 'WEB-01.example.com' });
  rejects(good, 'CE_ERR_CSR_CN_MISMATCH', { expectedCn: '' });
});

test('malformed CSRs behind a correct header are CE_ERR_CSR_MALFORMED', async (t) => {
  const dir = tempDir(t);
  const good = opensslCsr(dir, 'good', ['-newkey', 'rsa:2048', '-subj', '/CN=web-01.example.com']);
  const der = derOf(good);
  const header = '-----BEGIN CERTIFICATE REQUEST-----';
  rejects(`${header}\n`, 'CE_ERR_CSR_MALFORMED'); // no END line
  rejects(`${header}\n-----END CERTIFICATE REQUEST-----\n`, 'CE_ERR_CSR_MALFORMED'); // empty
  rejects(`${header}\n!!!notbase64!!!\n-----END CERTIFICATE REQUEST-----\n`, 'CE_ERR_CSR_MALFORMED');
  rejects(`${header}\nQUFB\n-----END CERTIFICATE REQUEST-----\n`, 'CE_ERR_CSR_MALFORMED'); // 'AAA' is not DER
  rejects(csrPem(der.subarray(0, der.length - 20)), 'CE_ERR_CSR_MALFORMED'); // truncated
  rejects(csrPem(Buffer.concat([der, Buffer.from([0])])), 'CE_ERR_CSR_MALFORMED'); // trailing byte
  rejects(`${good}garbage after the block\n`, 'CE_ERR_CSR_MALFORMED');
  rejects(`${good}${good}`, 'CE_ERR_CSR_MALFORMED'); // two blocks
  // a certificate's DER wrapped in a CSR header
  openssl(['req', '-x509', '-key', `${dir}/good.key`, '-subj', '/CN=x', '-days', '1', '-out', `${dir}/x.crt`]);
  rejects(csrPem(derOf(openssl(['x509', '-in', `${dir}/x.crt`]))), 'CE_ERR_CSR_MALFORMED');
  // a subject without CN, or with two
  rejects(opensslCsr(dir, 'nocn', ['-newkey', 'rsa:2048', '-subj', '/O=No Name']), 'CE_ERR_CSR_MALFORMED');
  rejects(opensslCsr(dir, 'twocn', ['-newkey', 'rsa:2048', '-subj', '/CN=a/CN=b']), 'CE_ERR_CSR_MALFORMED');
  // names built by hand: control characters, invalid UTF-8, empty CN
  const key = await generateRsaKey(2048);
  const cn = '2.5.4.3';
  rejects(csrWithName(key, seq([rdn(cn, utf8('host\nACTION=forged'))])), 'CE_ERR_CSR_MALFORMED');
  rejects(csrWithName(key, seq([rdn(cn, forge.asn1.create(0, forge.asn1.Type.UTF8, false, '\xff\xfe'))])), 'CE_ERR_CSR_MALFORMED');
  rejects(csrWithName(key, seq([rdn(cn, utf8(''))])), 'CE_ERR_CSR_MALFORMED');
  rejects(csrWithName(key, seq([rdn(cn, forge.asn1.create(0, forge.asn1.Type.INTEGER, false, '\x01'))])), 'CE_ERR_CSR_MALFORMED');
  // other string types are read correctly
  const bmp = Buffer.from('bmp-host', 'utf16le').swap16().toString('latin1');
  assert.equal(validateCsr(csrWithName(key, seq([rdn(cn, forge.asn1.create(0, forge.asn1.Type.BMPSTRING, false, bmp))]))).commonName, 'bmp-host');
  assert.equal(validateCsr(csrWithName(key, seq([rdn(cn, forge.asn1.create(0, forge.asn1.Type.PRINTABLESTRING, false, 'ps-host'))]))).commonName, 'ps-host');
  assert.equal(validateCsr(csrWithName(key, seq([rdn('2.5.4.10', utf8('Org')), rdn(cn, utf8('héte'))]))).commonName, 'héte');
});

test('createCsr output is accepted by openssl req -verify and describes CN only', async (t) => {
  const dir = tempDir(t);
  const key = await generateRsaKey(2048);
  const pem = createCsr(key, 'agent-01.example.com');
  assert.ok(pem.startsWith('-----BEGIN CERTIFICATE REQUEST-----\n'));
  assert.ok(pem.endsWith('-----END CERTIFICATE REQUEST-----\n'));
  const path = pemFile(dir, 'a.csr', pem);
  const res = opensslStatus(['req', '-verify', '-noout', '-in', path]);
  assert.equal(res.status, 0, res.output);
  const text = openssl(['req', '-noout', '-text', '-in', path]);
  assert.match(text, /Subject: CN = agent-01\.example\.com\n/);
  assert.match(text, /Public-Key: \(2048 bit\)/);
  assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
  assert.match(text, /Attributes:\s+\(none\)/);
  assert.doesNotMatch(text, /X509v3|Subject Alternative Name/);
  // byte for byte what `openssl req -new -key <key> -subj /CN=<name>` writes (RSA signatures are deterministic)
  const keyPath = pemFile(dir, 'a.key', key);
  assert.equal(openssl(['req', '-new', '-key', keyPath, '-subj', '/CN=agent-01.example.com']), pem);
  // the request carries the key's public half
  assert.equal(openssl(['req', '-noout', '-pubkey', '-in', path]), createPublicKey(key).export({ type: 'spki', format: 'pem' }));
  const v = validateCsr(pem, { expectedCn: 'agent-01.example.com' });
  assert.equal(v.bits, 2048);
  // UTF-8 names survive
  assert.equal(validateCsr(createCsr(key, 'hôte')).commonName, 'hôte');
});

test('createCsr refuses unusable keys and names', async (t) => {
  const dir = tempDir(t);
  openssl(['genrsa', '-out', `${dir}/small.key`, '1024']);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', `${dir}/ec.key`]);
  const read = (name: string) => openssl(['pkey', '-in', `${dir}/${name}`]);
  assert.throws(() => createCsr(read('small.key'), 'x'), { code: 'CE_ERR_KEY_SIZE' });
  assert.throws(() => createCsr(read('ec.key'), 'x'), { code: 'CE_ERR_KEY_SIZE' });
  assert.throws(() => createCsr('not a key', 'x'), { code: 'CE_ERR_CONFIG_VALUE' });
  const key = await generateRsaKey(2048);
  for (const cn of ['', 'a\nb', 'tab\there', 'x'.repeat(256), 'nul\u0000']) {
    assert.throws(() => createCsr(key, cn), { code: 'CE_ERR_BAD_REQUEST' }, JSON.stringify(cn));
  }
});
