import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, loadCa } from './ca.js';
import { certInfo, certMatchesKey, verifyIssuedBy } from './cert-info.js';
import { createDispatcherCert, issueCertificate } from './issue.js';
import { generateRsaKey } from './keys.js';
import { createCsr } from './csr.js';
import { canonicalSerialHex } from './serial.js';
import { openssl, opensslCsr, opensslStatus, pemFile, tempDir } from './test-helpers.js';

test('a CSR from openssl req (4096-bit) is signed and the chain verifies with openssl', async (t) => {
  const dir = tempDir(t);
  const caDir = join(dir, 'ca');
  const made = await createCa({ dir: caDir, keyBits: 2048 });
  assert.equal(made.keyPath, join(caDir, 'ca.key'));
  assert.equal(made.certPath, join(caDir, 'ca.crt'));
  assert.match(made.serial, /^[1-9a-f][0-9a-f]{31}$/);
  assert.equal(statSync(caDir).mode & 0o027, 0); // created 0750 (less under a stricter umask)

  const ca = loadCa(caDir);
  const csr = opensslCsr(dir, 'web', ['-newkey', 'rsa:4096', '-subj', '/CN=web-01.example.com']);
  const issued = issueCertificate(ca, csr, { days: 825 });
  const certPath = pemFile(dir, 'cert.pem', issued.certPem);

  assert.match(openssl(['verify', '-CAfile', made.certPath, certPath]), /cert\.pem: OK/);
  assert.equal(openssl(['x509', '-noout', '-subject', '-nameopt', 'RFC2253', '-in', certPath]).trim(), 'subject=CN=web-01.example.com');
  assert.equal(openssl(['x509', '-noout', '-issuer', '-nameopt', 'RFC2253', '-in', certPath]).trim(), 'issuer=CN=ctrl-exec CA');
  assert.equal(openssl(['x509', '-noout', '-serial', '-in', certPath]).trim().toLowerCase(), `serial=${issued.serial}`);
  assert.equal(openssl(['x509', '-noout', '-enddate', '-in', certPath]).trim(), `notAfter=${issued.notAfter}`);

  const eeText = openssl(['x509', '-noout', '-text', '-in', certPath]);
  assert.match(eeText, /Version: 3 \(0x2\)/);
  assert.match(eeText, /Signature Algorithm: sha256WithRSAEncryption/);
  assert.match(eeText, /Public-Key: \(4096 bit\)/);
  assert.match(eeText, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
  assert.match(eeText, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment/);
  assert.match(eeText, /X509v3 Subject Key Identifier/);
  assert.match(eeText, /X509v3 Authority Key Identifier/);
  assert.doesNotMatch(eeText, /Extended Key Usage|Subject Alternative Name/);

  const caText = openssl(['x509', '-noout', '-text', '-in', made.certPath]);
  assert.match(caText, /Version: 3 \(0x2\)/);
  assert.match(caText, /Subject: CN = ctrl-exec CA/);
  assert.match(caText, /Issuer: CN = ctrl-exec CA/);
  assert.match(caText, /Signature Algorithm: sha256WithRSAEncryption/);
  assert.match(caText, /X509v3 Basic Constraints: critical\s+CA:TRUE/);
  assert.match(caText, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
  assert.match(caText, /X509v3 Subject Key Identifier/);
  assert.match(caText, /X509v3 Authority Key Identifier/);
  // the CA certificate is itself valid for openssl (self-signed root)
  assert.match(openssl(['verify', '-CAfile', made.certPath, made.certPath]), /OK/);

  // validity: notBefore is backdated 5 minutes, notAfter is now + days
  const info = certInfo(issued.certPem);
  const now = Date.now();
  assert.ok(Math.abs(info.notBeforeDate.getTime() - (now - 5 * 60_000)) < 60_000);
  assert.ok(Math.abs(issued.notAfterDate.getTime() - (now + 825 * 86_400_000)) < 60_000);
  assert.equal(info.subjectCn, 'web-01.example.com');
  assert.equal(info.issuerCn, 'ctrl-exec CA');
  assert.ok(verifyIssuedBy(issued.certPem, ca.certPem));
  assert.ok(certMatchesKey(issued.certPem, readFileSync(join(dir, 'web.key'), 'utf8')));
});

test('CSR extensions and attributes are never copied into the certificate', async (t) => {
  const dir = tempDir(t);
  await createCa({ dir, keyBits: 2048 });
  const csr = opensslCsr(dir, 'evil', [
    '-newkey',
    'rsa:2048',
    '-subj',
    '/CN=evil.example.com/O=Evil Corp/emailAddress=evil@example.com',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'subjectAltName=DNS:evil,DNS:*.example.com',
    '-addext',
    'keyUsage=critical,keyCertSign',
    '-addext',
    'extendedKeyUsage=codeSigning',
  ]);
  assert.match(openssl(['req', '-noout', '-text'], csr), /CA:TRUE/); // the request really asks for it
  const issued = issueCertificate(loadCa(dir), csr, { days: 30 });
  const text = openssl(['x509', '-noout', '-text'], issued.certPem);
  assert.doesNotMatch(text, /CA:TRUE/);
  assert.match(text, /CA:FALSE/);
  assert.doesNotMatch(text, /Subject Alternative Name|DNS:|evil,|Certificate Sign|Code Signing|Extended Key Usage/);
  assert.match(text, /Subject: CN = evil\.example\.com\n/); // CN only, no O or emailAddress
  assert.doesNotMatch(text, /Evil Corp|emailAddress/);
  // openssl refuses to use it as a CA
  const leaf = opensslCsr(dir, 'leaf', ['-newkey', 'rsa:2048', '-subj', '/CN=leaf']);
  const leafCert = openssl(['x509', '-req', '-days', '1', '-CA', pemFile(dir, 'evil.crt', issued.certPem), '-CAkey', join(dir, 'evil.key'), '-set_serial', '5'], leaf);
  const chain = pemFile(dir, 'chain.pem', issued.certPem);
  const res = opensslStatus(['verify', '-CAfile', join(dir, 'ca.crt'), '-untrusted', chain, pemFile(dir, 'leaf.crt', leafCert)]);
  assert.notEqual(res.status, 0);
});

test('1,000 certificates from one CA have 1,000 distinct serials, each 32 hex digits with a letter', async (t) => {
  const dir = tempDir(t);
  await createCa({ dir, keyBits: 2048 });
  const ca = loadCa(dir);
  const csr = createCsr(await generateRsaKey(2048), 'agent.example.com');
  const serials = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const issued = issueCertificate(ca, csr, { days: 1 });
    assert.match(issued.serial, /^[1-9a-f][0-9a-f]{31}$/);
    assert.match(issued.serial, /[a-f]/);
    if (i % 100 === 0) assert.equal(canonicalSerialHex(new X509Certificate(issued.certPem).serialNumber), issued.serial);
    serials.add(issued.serial);
  }
  assert.equal(serials.size, 1000);
});

test('createCa refuses when ca.key exists and leaves every file unchanged', async (t) => {
  const dir = tempDir(t);
  await createCa({ dir, keyBits: 2048 });
  const key = readFileSync(join(dir, 'ca.key'));
  const cert = readFileSync(join(dir, 'ca.crt'));
  await assert.rejects(createCa({ dir, keyBits: 2048 }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'CE_ERR_CA_EXISTS');
    assert.equal(err.message, `CA already exists at '${join(dir, 'ca.key')}'.`);
    return true;
  });
  assert.ok(readFileSync(join(dir, 'ca.key')).equals(key));
  assert.ok(readFileSync(join(dir, 'ca.crt')).equals(cert));
  assert.deepEqual(readdirSync(dir).sort(), ['ca.crt', 'ca.key']);

  // a ca.key on its own (even one that is not a key) also blocks, and ca.crt is not created
  const other = join(dir, 'other');
  mkdirSync(other);
  writeFileSync(join(other, 'ca.key'), 'not a key');
  await assert.rejects(createCa({ dir: other, keyBits: 2048 }), { code: 'CE_ERR_CA_EXISTS' });
  assert.deepEqual(readdirSync(other), ['ca.key']);
  assert.equal(readFileSync(join(other, 'ca.key'), 'utf8'), 'not a key');
});

test('two concurrent createCa calls on one directory: exactly one wins, the files match', async (t) => {
  const dir = tempDir(t);
  const results = await Promise.allSettled([createCa({ dir, keyBits: 2048 }), createCa({ dir, keyBits: 2048 })]);
  const ok = results.filter((r) => r.status === 'fulfilled');
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  assert.equal(ok.length, 1);
  assert.equal(failed.length, 1);
  assert.equal((failed[0]!.reason as { code?: string }).code, 'CE_ERR_CA_EXISTS');
  assert.doesNotThrow(() => loadCa(dir)); // key and certificate belong together
  assert.deepEqual(readdirSync(dir).sort(), ['ca.crt', 'ca.key']);
});

test('createCa validates its inputs before touching the disk', async (t) => {
  const dir = join(tempDir(t), 'ca');
  await assert.rejects(createCa({ dir, keyBits: 1024 }), { code: 'CE_ERR_KEY_SIZE' });
  await assert.rejects(createCa({ dir, keyBits: 2048, days: 0 }), { code: 'CE_ERR_CONFIG_VALUE' });
  await assert.rejects(createCa({ dir, keyBits: 2048, days: 1.5 }), { code: 'CE_ERR_CONFIG_VALUE' });
  assert.throws(() => statSync(dir), { code: 'ENOENT' });
});

test('loadCa: missing key, missing certificate, mismatched pair, garbage', async (t) => {
  const dir = tempDir(t);
  assert.throws(
    () => loadCa(dir),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CE_ERR_CA_MISSING');
      assert.equal(err.message, `CA key not found at '${join(dir, 'ca.key')}' - run setup-ca first`);
      return true;
    },
  );
  await createCa({ dir: join(dir, 'a'), keyBits: 2048 });
  await createCa({ dir: join(dir, 'b'), keyBits: 2048 });
  const mixed = join(dir, 'mixed');
  mkdirSync(mixed);
  writeFileSync(join(mixed, 'ca.key'), readFileSync(join(dir, 'a', 'ca.key')));
  assert.throws(() => loadCa(mixed), { code: 'CE_ERR_CA_MISSING' }); // no ca.crt
  writeFileSync(join(mixed, 'ca.crt'), readFileSync(join(dir, 'b', 'ca.crt')));
  assert.throws(() => loadCa(mixed), { code: 'CE_ERR_CA_MISSING' }); // key of another CA
  writeFileSync(join(mixed, 'ca.crt'), 'garbage');
  assert.throws(() => loadCa(mixed), { code: 'CE_ERR_CA_MISSING' });
  const ca = loadCa(join(dir, 'a'));
  assert.equal(ca.dir, join(dir, 'a'));
  assert.equal(ca.key.asymmetricKeyType, 'rsa');
  assert.equal(ca.cert.subject, 'CN=ctrl-exec CA');
  assert.ok(ca.certPem.startsWith('-----BEGIN CERTIFICATE-----\n'));
  assert.ok(ca.keyPem.startsWith('-----BEGIN PRIVATE KEY-----\n'));
});

test('a CA made by openssl (as upstream setup-ca does) signs certificates that verify', async (t) => {
  const dir = tempDir(t);
  openssl(['genrsa', '-out', join(dir, 'ca.key'), '2048']);
  openssl(['req', '-new', '-x509', '-key', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-days', '3650', '-subj', '/CN=ctrl-exec CA']);
  const ca = loadCa(dir);
  const csr = opensslCsr(dir, 'agent', ['-newkey', 'rsa:2048', '-subj', '/CN=agent-7']);
  const issued = issueCertificate(ca, csr, { days: 10 });
  assert.match(openssl(['verify', '-CAfile', join(dir, 'ca.crt'), pemFile(dir, 'agent.crt', issued.certPem)]), /OK/);
  // AKID points at openssl's SKID of the CA
  const caText = openssl(['x509', '-noout', '-ext', 'subjectKeyIdentifier', '-in', join(dir, 'ca.crt')]);
  const skid = /\n\s+([0-9A-F:]+)\s*$/.exec(caText)?.[1];
  assert.ok(skid);
  assert.ok(openssl(['x509', '-noout', '-ext', 'authorityKeyIdentifier'], issued.certPem).includes(skid));
});

test('issueCertificate: CSR refusals come first, bad days are refused, expectedCn binds', async (t) => {
  const dir = tempDir(t);
  await createCa({ dir, keyBits: 2048 });
  const ca = loadCa(dir);
  const csr = createCsr(await generateRsaKey(2048), 'host-a');
  assert.throws(() => issueCertificate(ca, 'nope', { days: 1 }), { code: 'CE_ERR_CSR_NOT_PEM' });
  assert.throws(() => issueCertificate(ca, csr, { days: 1, expectedCn: 'host-b' }), { code: 'CE_ERR_CSR_CN_MISMATCH' });
  assert.throws(() => issueCertificate(ca, csr, { days: 0 }), { code: 'CE_ERR_CONFIG_VALUE' });
  assert.equal(certInfo(issueCertificate(ca, csr, { days: 1, expectedCn: 'host-a' }).certPem).subjectCn, 'host-a');
});

test('validity past 2049 is encoded as GeneralizedTime and read back identically by openssl', async (t) => {
  const dir = tempDir(t);
  await createCa({ dir, keyBits: 2048, days: 36500 });
  const ca = loadCa(dir);
  const issued = issueCertificate(ca, createCsr(await generateRsaKey(2048), 'far-future'), { days: 36500 });
  assert.ok(issued.notAfterDate.getUTCFullYear() > 2100);
  assert.equal(openssl(['x509', '-noout', '-enddate'], issued.certPem).trim(), `notAfter=${issued.notAfter}`);
  assert.equal(openssl(['x509', '-noout', '-enddate'], ca.certPem).trim(), `notAfter=${certInfo(ca.certPem).notAfter}`);
  assert.match(openssl(['verify', '-CAfile', join(dir, 'ca.crt'), pemFile(dir, 'ff.crt', issued.certPem)]), /OK/);
});

test('createDispatcherCert writes a 0600 key and a 0644 certificate for CN=ctrl-exec-dispatcher', async (t) => {
  const dir = tempDir(t);
  await createCa({ dir, keyBits: 2048 });
  const ca = loadCa(dir);
  const certPath = join(dir, 'dispatcher.crt');
  const keyPath = join(dir, 'dispatcher.key');
  const old = process.umask(0);
  let issued;
  try {
    issued = await createDispatcherCert({ ca, certPath, keyPath, keyBits: 2048 });
  } finally {
    process.umask(old);
  }
  assert.equal(statSync(keyPath).mode & 0o777, 0o600);
  assert.equal(statSync(certPath).mode & 0o777, 0o644);
  const certPem = readFileSync(certPath, 'utf8');
  assert.equal(certPem, issued.certPem);
  const info = certInfo(certPem);
  assert.equal(info.subjectCn, 'ctrl-exec-dispatcher');
  assert.equal(info.serial, issued.serial);
  assert.ok(Math.abs(issued.notAfterDate.getTime() - (Date.now() + 825 * 86_400_000)) < 60_000);
  assert.ok(certMatchesKey(certPem, readFileSync(keyPath, 'utf8')));
  assert.ok(readFileSync(keyPath, 'utf8').startsWith('-----BEGIN PRIVATE KEY-----\n'));
  assert.match(openssl(['verify', '-CAfile', join(dir, 'ca.crt'), certPath]), /OK/);

  // a failing issue writes nothing
  await assert.rejects(
    createDispatcherCert({ ca, certPath: join(dir, 'x.crt'), keyPath: join(dir, 'x.key'), keyBits: 2048, days: -1 }),
    { code: 'CE_ERR_CONFIG_VALUE' },
  );
  assert.deepEqual(readdirSync(dir).sort(), ['ca.crt', 'ca.key', 'dispatcher.crt', 'dispatcher.key']);
});
