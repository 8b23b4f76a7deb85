/**
 * The private CA: `<dir>/ca.key` (0600) and `<dir>/ca.crt` (0644), as upstream's `setup-ca`
 * lays them out (wire-protocol §3.1, §3.5).
 */
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { lstat, mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CtrlExecError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { CLOCK_SKEW_MS, authorityKeyIdentifier, basicConstraints, buildCertificate, keyIdentifier, keyUsage, subjectKeyIdentifier } from './cert-build.js';
import { cnName } from './der.js';
import { randomSerialHex } from './ids.js';
import { DEFAULT_KEY_BITS, generateRsaKey, writePrivateKeyExclusive } from './keys.js';
import { checkDays } from './validity.js';

export const CA_COMMON_NAME = 'ctrl-exec CA';
export const CA_KEY_FILE = 'ca.key';
export const CA_CERT_FILE = 'ca.crt';
export const DEFAULT_CA_DAYS = 3650;

export interface LoadedCa {
  dir: string;
  certPem: string;
  keyPem: string;
  cert: X509Certificate;
  key: KeyObject;
}

function caExists(keyPath: string): CtrlExecError {
  return new CtrlExecError('CE_ERR_CA_EXISTS', `CA already exists at '${keyPath}'.`, { details: { path: keyPath } });
}

/**
 * Create a new CA in `dir` (made 0750 when missing). Refuses, changing nothing, when
 * `ca.key` already exists — also when another process creates it at the same moment.
 */
export async function createCa(opts: { dir: string; keyBits?: number; days?: number }): Promise<{ keyPath: string; certPath: string; serial: string }> {
  const keyPath = join(opts.dir, CA_KEY_FILE);
  const certPath = join(opts.dir, CA_CERT_FILE);
  const days = checkDays(opts.days ?? DEFAULT_CA_DAYS);
  const exists = await lstat(keyPath).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw new CtrlExecError('CE_ERR_FS', `cannot access '${keyPath}': ${err.code ?? 'EIO'}`, { cause: err });
    },
  );
  if (exists) throw caExists(keyPath);

  const keyPem = await generateRsaKey(opts.keyBits ?? DEFAULT_KEY_BITS);
  const key = createPrivateKey(keyPem);
  const spkiDer = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const keyId = keyIdentifier(spkiDer);
  const serial = randomSerialHex();
  const now = Date.now();
  const certPem = buildCertificate({
    serialHex: serial,
    issuer: cnName(CA_COMMON_NAME),
    subject: cnName(CA_COMMON_NAME),
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + days * 86_400_000),
    spkiDer,
    extensions: [basicConstraints(true), keyUsage(['keyCertSign', 'cRLSign']), subjectKeyIdentifier(keyId), authorityKeyIdentifier(keyId)],
    signingKey: key,
  });

  try {
    await mkdir(opts.dir, { recursive: true, mode: 0o750 });
  } catch (err) {
    throw new CtrlExecError('CE_ERR_FS', `cannot create '${opts.dir}': ${(err as NodeJS.ErrnoException).code ?? 'EIO'}`, { cause: err });
  }
  if (!(await writePrivateKeyExclusive(keyPath, keyPem))) throw caExists(keyPath);
  await writeFileAtomic(certPath, certPem, { mode: 0o644 });
  return { keyPath, certPath, serial };
}

function readText(path: string, missing: () => CtrlExecError): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw missing();
    throw new CtrlExecError('CE_ERR_FS', `cannot read '${path}': ${(err as NodeJS.ErrnoException).code ?? 'EIO'}`, { cause: err, details: { path } });
  }
}

/** Load the CA from `dir`; the key must be RSA and belong to the certificate. */
export function loadCa(dir: string): LoadedCa {
  const keyPath = join(dir, CA_KEY_FILE);
  const certPath = join(dir, CA_CERT_FILE);
  const keyPem = readText(
    keyPath,
    () => new CtrlExecError('CE_ERR_CA_MISSING', `CA key not found at '${keyPath}' - run setup-ca first`, { details: { path: keyPath } }),
  );
  const certPem = readText(
    certPath,
    () => new CtrlExecError('CE_ERR_CA_MISSING', `CA certificate not found at '${certPath}' - run setup-ca first`, { details: { path: certPath } }),
  );
  let key: KeyObject;
  let cert: X509Certificate;
  try {
    key = createPrivateKey(keyPem);
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new CtrlExecError('CE_ERR_CA_MISSING', `CA in '${dir}' is unreadable: ${(err as Error).message}`, { cause: err, details: { dir } });
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new CtrlExecError('CE_ERR_CA_MISSING', `CA key at '${keyPath}' is not an RSA key`, { details: { path: keyPath } });
  }
  if (!cert.checkPrivateKey(key)) {
    throw new CtrlExecError('CE_ERR_CA_MISSING', `CA key at '${keyPath}' does not match '${certPath}'`, { details: { path: keyPath } });
  }
  return { dir, certPem, keyPem, cert, key };
}
