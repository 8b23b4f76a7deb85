/**
 * X.509 v3 certificate assembly: the TBSCertificate is built as DER with node-forge's ASN.1
 * codec and signed sha256WithRSAEncryption with node:crypto.
 */
import { createHash, sign, type KeyObject } from 'node:crypto';
import type Forge from 'node-forge';
import { lazyRequire } from '../lazy.js';

const forge = lazyRequire<typeof Forge>('node-forge');
import {
  ASN1_TYPE as T,
  OID,
  algorithm,
  bits,
  bool,
  children,
  contextExplicit,
  decode,
  decodeStrict,
  encode,
  expectUniversal,
  fromBinary,
  octets,
  oid,
  oidOf,
  pemEncode,
  positiveIntFromHex,
  primitiveBytes,
  rawBits,
  seq,
  smallInt,
  time,
  type Asn1,
} from './der.js';

/** Accepted clock skew: certificates are valid from this long before they are made. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

export interface CertificateSpec {
  serialHex: string;
  issuer: Asn1;
  subject: Asn1;
  notBefore: Date;
  notAfter: Date;
  /** SubjectPublicKeyInfo DER of the certified key. */
  spkiDer: Buffer;
  extensions: Asn1[];
  /** Key that signs (the issuer's). */
  signingKey: KeyObject;
}

function extension(id: string, critical: boolean, valueDer: Buffer): Asn1 {
  return seq(critical ? [oid(id), bool(true), octets(valueDer)] : [oid(id), octets(valueDer)]);
}

/** basicConstraints, always critical. CA:FALSE is the empty SEQUENCE (DER omits the default). */
export function basicConstraints(ca: boolean): Asn1 {
  return extension(OID.basicConstraints, true, encode(seq(ca ? [bool(true)] : [])));
}

const KEY_USAGE_BITS = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
} as const;

/** keyUsage, always critical, encoded as a DER named-bit BIT STRING (trailing zero bits dropped). */
export function keyUsage(usages: Array<keyof typeof KEY_USAGE_BITS>): Asn1 {
  let value = 0; // bit 0 is the most significant bit of the first octet
  for (const u of usages) value |= 0x80 >> KEY_USAGE_BITS[u];
  let unused = 0;
  while (unused < 8 && value !== 0 && ((value >> unused) & 1) === 0) unused++;
  const content = value === 0 ? '\x00' : String.fromCharCode(unused, value);
  return extension(OID.keyUsage, true, encode(rawBits(content)));
}

export function subjectKeyIdentifier(keyId: Buffer): Asn1 {
  return extension(OID.subjectKeyIdentifier, false, encode(octets(keyId)));
}

export function authorityKeyIdentifier(keyId: Buffer): Asn1 {
  const keyIdentifier = forge.asn1.create(forge.asn1.Class.CONTEXT_SPECIFIC, 0, false, keyId.toString('latin1'));
  return extension(OID.authorityKeyIdentifier, false, encode(seq([keyIdentifier])));
}

/** RFC 5280 §4.2.1.2 method 1 (what OpenSSL uses): SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(spkiDer: Buffer): Buffer {
  const [, keyBits] = children(expectUniversal(decodeStrict(spkiDer), T.SEQUENCE, 'public key info'), 'public key info');
  const content = fromBinary(primitiveBytes(keyBits, T.BITSTRING, 'public key'));
  return createHash('sha1').update(content.subarray(1)).digest();
}

/** Build, sign and PEM-encode one certificate. */
export function buildCertificate(spec: CertificateSpec): string {
  const notBefore = new Date(Math.floor(spec.notBefore.getTime() / 1000) * 1000);
  const notAfter = new Date(Math.floor(spec.notAfter.getTime() / 1000) * 1000);
  const tbs = seq([
    contextExplicit(0, smallInt(2)), // v3
    positiveIntFromHex(spec.serialHex),
    algorithm(OID.sha256WithRSAEncryption),
    spec.issuer,
    seq([time(notBefore), time(notAfter)]),
    spec.subject,
    decodeStrict(spec.spkiDer),
    ...(spec.extensions.length ? [contextExplicit(3, seq(spec.extensions))] : []),
  ]);
  const tbsDer = encode(tbs);
  const signature = sign('sha256', tbsDer, spec.signingKey);
  return pemEncode('CERTIFICATE', encode(seq([tbs, algorithm(OID.sha256WithRSAEncryption), bits(signature)])));
}

/** The parts of an existing certificate a signer needs: its subject Name and its key identifier. */
export interface IssuerParts {
  subject: Asn1;
  keyId: Buffer;
}

export function issuerParts(certDer: Buffer): IssuerParts {
  const [tbs] = children(expectUniversal(decode(certDer), T.SEQUENCE, 'certificate'), 'certificate');
  const fields = children(expectUniversal(tbs, T.SEQUENCE, 'tbsCertificate'), 'tbsCertificate');
  const first = fields[0];
  const offset = first && first.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && first.type === 0 ? 1 : 0;
  const subject = expectUniversal(fields[offset + 4], T.SEQUENCE, 'subject');
  const spki = expectUniversal(fields[offset + 5], T.SEQUENCE, 'subject public key info');
  let keyId: Buffer | undefined;
  for (const f of fields.slice(offset + 6)) {
    if (f.tagClass !== forge.asn1.Class.CONTEXT_SPECIFIC || f.type !== 3) continue;
    const [exts] = children(f, 'extensions');
    for (const ext of children(expectUniversal(exts, T.SEQUENCE, 'extensions'), 'extensions')) {
      const parts = children(expectUniversal(ext, T.SEQUENCE, 'extension'), 'extension');
      if (oidOf(parts[0], 'extension id') !== OID.subjectKeyIdentifier) continue;
      const value = fromBinary(primitiveBytes(parts[parts.length - 1], T.OCTETSTRING, 'extension value'));
      keyId = fromBinary(primitiveBytes(decode(value), T.OCTETSTRING, 'key identifier'));
    }
  }
  return { subject, keyId: keyId ?? keyIdentifier(encode(spki)) };
}
