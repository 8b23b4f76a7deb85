/** Reading certificates: serial, dates, names, and whether they fit a CA or a key. */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { CtrlExecError } from '../errors.js';
import { opensslDate, parseOpensslDate } from '../time.js';
import { ASN1_TYPE as T, children, commonNames, decode, expectUniversal, type Asn1 } from './der.js';
import { canonicalSerialHex } from './serial.js';

export interface CertInfo {
  /** Canonical lowercase hex (serial.ts canonicalSerialHex). */
  serial: string;
  /** OpenSSL text form, `Mon DD HH:MM:SS YYYY GMT`, as `openssl x509 -enddate` prints it. */
  notAfter: string;
  notAfterDate: Date;
  notBeforeDate: Date;
  /** First commonName of the subject; '' when there is none. */
  subjectCn: string;
  issuerCn: string;
  publicKey: KeyObject;
}

function firstCn(name: Asn1 | undefined): string {
  if (!name) return '';
  try {
    return commonNames(name)[0] ?? '';
  } catch {
    return '';
  }
}

function names(raw: Buffer): { issuer: Asn1 | undefined; subject: Asn1 | undefined } {
  const [tbs] = children(expectUniversal(decode(raw), T.SEQUENCE, 'certificate'), 'certificate');
  const fields = children(expectUniversal(tbs, T.SEQUENCE, 'tbsCertificate'), 'tbsCertificate');
  const offset = fields[0]?.tagClass === 0x80 && fields[0]?.type === 0 ? 1 : 0;
  return { issuer: fields[offset + 2], subject: fields[offset + 4] };
}

function dateOf(text: string, what: string): Date {
  const d = parseOpensslDate(text);
  if (!d) throw new CtrlExecError('CE_ERR_CERT_MISSING', `certificate ${what} date is unreadable: '${text}'`);
  return d;
}

/** Facts about one PEM certificate. Throws CE_ERR_CERT_MISSING when it is not a readable certificate. */
export function certInfo(pem: string | X509Certificate): CertInfo {
  let x509: X509Certificate;
  let parts: ReturnType<typeof names>;
  try {
    x509 = typeof pem === 'string' ? new X509Certificate(pem) : pem;
    parts = names(x509.raw);
  } catch (err) {
    throw new CtrlExecError('CE_ERR_CERT_MISSING', `not a readable certificate: ${(err as Error).message}`, { cause: err });
  }
  const notAfterDate = dateOf(x509.validTo, 'notAfter');
  return {
    serial: canonicalSerialHex(x509.serialNumber),
    notAfter: opensslDate(notAfterDate),
    notAfterDate,
    notBeforeDate: dateOf(x509.validFrom, 'notBefore'),
    subjectCn: firstCn(parts.subject),
    issuerCn: firstCn(parts.issuer),
    publicKey: x509.publicKey,
  };
}

/** True when caCertPem's subject issued certPem and its key verifies certPem's signature. */
export function verifyIssuedBy(certPem: string, caCertPem: string): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caCertPem);
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

/** True when keyPem is the private key of certPem's public key. */
export function certMatchesKey(certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}
