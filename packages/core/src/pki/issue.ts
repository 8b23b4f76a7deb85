/** Signing CSRs with the CA, and the dispatcher's own certificate (wire-protocol §3.1). */
import { CtrlExecError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import type { LoadedCa } from './ca.js';
import {
  CLOCK_SKEW_MS,
  authorityKeyIdentifier,
  basicConstraints,
  buildCertificate,
  issuerParts,
  keyIdentifier,
  keyUsage,
  subjectKeyIdentifier,
  type IssuerParts,
} from './cert-build.js';
import { certInfo } from './cert-info.js';
import { createCsr, validateCsr } from './csr.js';
import { cnName } from './der.js';
import { randomSerialHex } from './ids.js';
import { DEFAULT_KEY_BITS, generateRsaKey, writePrivateKey } from './keys.js';
import { checkDays } from './validity.js';

export const DISPATCHER_COMMON_NAME = 'ctrl-exec-dispatcher';
export const DEFAULT_CERT_DAYS = 825;

export interface IssuedCert {
  certPem: string;
  /** Canonical lowercase hex. */
  serial: string;
  /** OpenSSL text form, `Mon DD HH:MM:SS YYYY GMT`. */
  notAfter: string;
  notAfterDate: Date;
}

const issuerCache = new WeakMap<LoadedCa, IssuerParts>();

function issuerOf(ca: LoadedCa): IssuerParts {
  let parts = issuerCache.get(ca);
  if (!parts) {
    try {
      parts = issuerParts(ca.cert.raw);
    } catch (err) {
      throw new CtrlExecError('CE_ERR_CA_MISSING', `CA certificate in '${ca.dir}' cannot be used for signing`, { cause: err });
    }
    issuerCache.set(ca, parts);
  }
  return parts;
}

/**
 * Sign a CSR after validateCsr. Only the CSR's CN and public key are used: its extensions and
 * attributes are never copied. End-entity profile: v3, basicConstraints critical CA:FALSE,
 * keyUsage critical digitalSignature+keyEncipherment, SKID, AKID, no EKU (the same certificates
 * serve as TLS clients and servers), random 128-bit serial, valid from 5 minutes ago.
 */
export function issueCertificate(ca: LoadedCa, csrPem: string, opts: { days: number; expectedCn?: string }): IssuedCert {
  const csr = validateCsr(csrPem, opts.expectedCn === undefined ? {} : { expectedCn: opts.expectedCn });
  const days = checkDays(opts.days);
  const issuer = issuerOf(ca);
  const spkiDer = csr.publicKey.export({ type: 'spki', format: 'der' });
  const now = Date.now();
  const certPem = buildCertificate({
    serialHex: randomSerialHex(),
    issuer: issuer.subject,
    subject: cnName(csr.commonName),
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + days * 86_400_000),
    spkiDer,
    extensions: [
      basicConstraints(false),
      keyUsage(['digitalSignature', 'keyEncipherment']),
      subjectKeyIdentifier(keyIdentifier(spkiDer)),
      authorityKeyIdentifier(issuer.keyId),
    ],
    signingKey: ca.key,
  });
  const info = certInfo(certPem);
  return { certPem, serial: info.serial, notAfter: info.notAfter, notAfterDate: info.notAfterDate };
}

/**
 * The dispatcher's own key and certificate (CN=ctrl-exec-dispatcher): the key is written 0600,
 * the certificate 0644, each atomically. Nothing is written when signing fails.
 */
export async function createDispatcherCert(opts: {
  ca: LoadedCa;
  certPath: string;
  keyPath: string;
  keyBits?: number;
  days?: number;
}): Promise<IssuedCert> {
  const days = checkDays(opts.days ?? DEFAULT_CERT_DAYS);
  const keyPem = await generateRsaKey(opts.keyBits ?? DEFAULT_KEY_BITS);
  const issued = issueCertificate(opts.ca, createCsr(keyPem, DISPATCHER_COMMON_NAME), { days });
  await writePrivateKey(opts.keyPath, keyPem);
  await writeFileAtomic(opts.certPath, issued.certPem, { mode: 0o644 });
  return issued;
}
