import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, loadCa } from './ca.js';
import { certInfo, certMatchesKey, verifyIssuedBy } from './cert-info.js';
import { createCsr } from './csr.js';
import { pemEncode } from './der.js';
import { issueCertificate } from './issue.js';
import { generateRsaKey } from './keys.js';
import { openssl, tempDir } from './test-helpers.js';

test('certInfo on an openssl certificate with a small serial: hex "10", openssl enddate text', (t) => {
  const dir = tempDir(t);
  const cert = join(dir, 'c.pem');
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', cert, '-subj', '/CN=small-serial', '-days', '30', '-set_serial', '16']);
  const pem = readFileSync(cert, 'utf8');
  const info = certInfo(pem);
  assert.equal(info.serial, '10'); // 0x10, never read as decimal ten
  assert.equal(`notAfter=${info.notAfter}`, openssl(['x509', '-noout', '-enddate', '-in', cert]).trim());
  assert.match(info.notAfter, /^[A-Z][a-z]{2} [ 1-3]\d \d{2}:\d{2}:\d{2} \d{4} GMT$/);
  assert.equal(info.subjectCn, 'small-serial');
  assert.equal(info.issuerCn, 'small-serial');
  assert.equal(info.publicKey.asymmetricKeyType, 'rsa');
  assert.ok(info.notBeforeDate < info.notAfterDate);
  assert.ok(Math.abs(info.notAfterDate.getTime() - (Date.now() + 30 * 86_400_000)) < 120_000);

  // serial 0x0A stays 'a' and 0x00ff... keeps its value without the sign octet
  openssl(['req', '-x509', '-key', join(dir, 'k.pem'), '-out', join(dir, 'a.pem'), '-subj', '/CN=a', '-days', '1', '-set_serial', '0x0A']);
  assert.equal(certInfo(readFileSync(join(dir, 'a.pem'), 'utf8')).serial, 'a');
  openssl(['req', '-x509', '-key', join(dir, 'k.pem'), '-out', join(dir, 'b.pem'), '-subj', '/CN=b', '-days', '1', '-set_serial', '0xFFEE']);
  assert.equal(certInfo(readFileSync(join(dir, 'b.pem'), 'utf8')).serial, 'ffee');
});

test('certInfo refuses what is not a certificate', () => {
  for (const junk of ['', 'hello', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n']) {
    assert.throws(() => certInfo(junk), { code: 'CE_ERR_CERT_MISSING' });
  }
});

test('verifyIssuedBy and certMatchesKey', async (t) => {
  const dir = tempDir(t);
  await createCa({ dir: join(dir, 'a'), keyBits: 2048 });
  await createCa({ dir: join(dir, 'b'), keyBits: 2048 });
  const caA = loadCa(join(dir, 'a'));
  const caB = loadCa(join(dir, 'b'));
  const key = await generateRsaKey(2048);
  const otherKey = await generateRsaKey(2048);
  const issued = issueCertificate(caA, createCsr(key, 'host-1'), { days: 5 });

  assert.equal(verifyIssuedBy(issued.certPem, caA.certPem), true);
  assert.equal(verifyIssuedBy(issued.certPem, caB.certPem), false);
  assert.equal(verifyIssuedBy(caA.certPem, caA.certPem), true); // self-signed root
  assert.equal(verifyIssuedBy(caB.certPem, caA.certPem), false); // same name, other key
  assert.equal(verifyIssuedBy('garbage', caA.certPem), false);
  assert.equal(verifyIssuedBy(issued.certPem, 'garbage'), false);
  // a certificate whose signature was altered no longer verifies
  const der = Buffer.from(issued.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  der[der.length - 5]! ^= 0xff;
  const altered = pemEncode('CERTIFICATE', der);
  assert.doesNotThrow(() => certInfo(altered)); // still a well-formed certificate
  assert.equal(verifyIssuedBy(altered, caA.certPem), false);

  assert.equal(certMatchesKey(issued.certPem, key), true);
  assert.equal(certMatchesKey(issued.certPem, otherKey), false);
  assert.equal(certMatchesKey(issued.certPem, 'garbage'), false);
  assert.equal(certMatchesKey('garbage', key), false);
  assert.equal(certMatchesKey(caA.certPem, caA.keyPem), true);
});
