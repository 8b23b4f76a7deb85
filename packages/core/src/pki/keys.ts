/**
 * RSA private keys: generated natively, stored as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`,
 * what OpenSSL 3 `genrsa` writes), created on disk with mode 0600 and never chmod-ed.
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import { link, open, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { CtrlExecError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic-write.js';

export const DEFAULT_KEY_BITS = 4096;
export const MIN_KEY_BITS = 2048;
/** OpenSSL's own ceiling for RSA moduli (OPENSSL_RSA_MAX_MODULUS_BITS). */
export const MAX_KEY_BITS = 16384;

const generateKeyPairAsync = promisify(generateKeyPair);

/** Throws CE_ERR_KEY_SIZE unless bits is an integer in [MIN_KEY_BITS, MAX_KEY_BITS]. */
export function checkKeyBits(bits: unknown): number {
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < MIN_KEY_BITS || bits > MAX_KEY_BITS) {
    throw new CtrlExecError('CE_ERR_KEY_SIZE', `RSA key size must be an integer between ${MIN_KEY_BITS} and ${MAX_KEY_BITS} bits (got ${String(bits)})`, {
      details: { bits },
    });
  }
  return bits;
}

/** A fresh RSA private key as PKCS#8 PEM. */
export async function generateRsaKey(bits: number = DEFAULT_KEY_BITS): Promise<string> {
  const modulusLength = checkKeyBits(bits);
  const { privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return privateKey;
}

/** Replace (or create) a private key file atomically; the file is 0600 from the moment it exists. */
export async function writePrivateKey(path: string, pem: string): Promise<void> {
  await writeFileAtomic(path, pem, { mode: 0o600 });
}

/**
 * Create a private key file that must not exist yet: the content goes to a 0600 temp file,
 * which is then hard-linked to the final name (fails with EEXIST instead of replacing).
 * Returns false, touching nothing, when the path already exists.
 */
export async function writePrivateKeyExclusive(path: string, pem: string): Promise<boolean> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fsError = (err: unknown) =>
    new CtrlExecError('CE_ERR_FS', `cannot write '${path}': ${(err as NodeJS.ErrnoException).code ?? 'EIO'}`, { cause: err, details: { path } });
  let handle;
  try {
    handle = await open(tmp, 'wx', 0o600);
    await handle.writeFile(pem);
    await handle.sync();
    await handle.close();
    handle = undefined;
    try {
      await link(tmp, path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
      // no hard links on this filesystem: fall back to an exclusive create of the final name
      let direct;
      try {
        direct = await open(path, 'wx', 0o600);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      }
      try {
        await direct.writeFile(pem);
        await direct.sync();
      } finally {
        await direct.close();
      }
    }
    return true;
  } catch (err) {
    throw err instanceof CtrlExecError ? err : fsError(err);
  } finally {
    if (handle) await handle.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
  }
}
