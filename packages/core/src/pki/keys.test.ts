import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFileSync, readdirSync, statSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa } from './ca.js';
import { DEFAULT_KEY_BITS, MIN_KEY_BITS, generateRsaKey, writePrivateKey, writePrivateKeyExclusive } from './keys.js';
import { openssl, tempDir } from './test-helpers.js';

test('generateRsaKey writes PKCS#8 PEM as OpenSSL 3 does, default 4096 bits', async () => {
  assert.equal(DEFAULT_KEY_BITS, 4096);
  assert.equal(MIN_KEY_BITS, 2048);
  const pem = await generateRsaKey();
  assert.ok(pem.startsWith('-----BEGIN PRIVATE KEY-----\n'));
  assert.ok(pem.endsWith('-----END PRIVATE KEY-----\n'));
  const key = createPrivateKey(pem);
  assert.equal(key.asymmetricKeyType, 'rsa');
  assert.equal(key.asymmetricKeyDetails?.modulusLength, 4096);
  assert.equal(key.asymmetricKeyDetails?.publicExponent, 65537n);
  // openssl reads it back as a 4096-bit RSA key
  assert.match(openssl(['pkey', '-noout', '-text'], pem), /Private-Key: \(4096 bit/);
});

test('key sizes below 2048, non-integers and absurd sizes are refused with CE_ERR_KEY_SIZE', async () => {
  for (const bits of [1024, 2047, 0, -4096, 2048.5, Number.NaN, Number.POSITIVE_INFINITY, 1_000_000]) {
    await assert.rejects(generateRsaKey(bits), { code: 'CE_ERR_KEY_SIZE' }, String(bits));
  }
  await assert.rejects(generateRsaKey('4096' as unknown as number), { code: 'CE_ERR_KEY_SIZE' });
  const pem = await generateRsaKey(2048);
  assert.equal(createPrivateKey(pem).asymmetricKeyDetails?.modulusLength, 2048);
});

test('private keys are 0600 from creation, even under umask 000, temp files included', async (t) => {
  const dir = tempDir(t);
  const widest = new Map<string, number>();
  const look = (name: string | null) => {
    if (!name) return;
    try {
      const mode = statSync(join(dir, name)).mode & 0o777;
      widest.set(name, (widest.get(name) ?? 0) | mode);
    } catch {
      /* already renamed or removed */
    }
  };
  const watcher = watch(dir, (_event, name) => look(name));
  t.after(() => watcher.close());
  const old = process.umask(0o000);
  try {
    const pem = await generateRsaKey(2048);
    const keyPath = join(dir, 'agent.key');
    await writePrivateKey(keyPath, pem);
    look('agent.key');
    await writePrivateKey(keyPath, await generateRsaKey(2048)); // replacing keeps 0600 too
    assert.equal(await writePrivateKeyExclusive(join(dir, 'other.key'), pem), true);
    await createCa({ dir, keyBits: 2048 });
    look('ca.key');
  } finally {
    process.umask(old);
  }
  await new Promise((r) => setTimeout(r, 100)); // let pending watch events arrive
  watcher.close();

  for (const name of ['agent.key', 'other.key', 'ca.key']) assert.equal(statSync(join(dir, name)).mode & 0o777, 0o600, name);
  assert.equal(statSync(join(dir, 'ca.crt')).mode & 0o777, 0o644);
  for (const [name, mode] of widest) {
    if (name === 'ca.crt' || name.startsWith('.ca.crt.')) continue; // the certificate is public, 0644
    assert.equal(mode & 0o077, 0, `${name} was ${mode.toString(8)}`);
  }
  // no temp files left behind
  assert.deepEqual(readdirSync(dir).sort(), ['agent.key', 'ca.crt', 'ca.key', 'other.key']);
});

test('writePrivateKeyExclusive never replaces an existing file', async (t) => {
  const dir = tempDir(t);
  const p = join(dir, 'ca.key');
  writeFileSync(p, 'EXISTING');
  assert.equal(await writePrivateKeyExclusive(p, 'NEW'), false);
  assert.equal(readFileSync(p, 'utf8'), 'EXISTING');
  assert.deepEqual(readdirSync(dir), ['ca.key']);
  await assert.rejects(writePrivateKeyExclusive(join(dir, 'missing', 'x.key'), 'NEW'), { code: 'CE_ERR_FS' });
});
