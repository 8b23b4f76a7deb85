/**
 * DER building blocks for certificates and CSRs, on top of node-forge's ASN.1 codec.
 * forge only encodes and decodes here; every signature is made and checked with node:crypto.
 * forge works on "binary strings" (one char per byte); these helpers convert at the edges.
 */
import type Forge from 'node-forge';
import { lazyRequire, lazyObject } from '../lazy.js';

const forge = lazyRequire<typeof Forge>('node-forge');

const asn1 = lazyObject(() => forge.asn1);
export type Asn1 = Forge.asn1.Asn1;

/** forge.asn1.Class.UNIVERSAL (a plain 0; reading it from forge would load forge at start-up). */
const U = 0;
const T = lazyObject(() => forge.asn1.Type);

export const OID = {
  commonName: '2.5.4.3',
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
} as const;

export function toBinary(buf: Uint8Array): string {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1');
}

export function fromBinary(bytes: string): Buffer {
  return Buffer.from(bytes, 'latin1');
}

export function seq(items: Asn1[]): Asn1 {
  return asn1.create(U, T.SEQUENCE, true, items);
}

export function set(items: Asn1[]): Asn1 {
  return asn1.create(U, T.SET, true, items);
}

export function oid(dotted: string): Asn1 {
  return asn1.create(U, T.OID, false, asn1.oidToDer(dotted).getBytes());
}

export function nullValue(): Asn1 {
  return asn1.create(U, T.NULL, false, '');
}

export function bool(value: boolean): Asn1 {
  return asn1.create(U, T.BOOLEAN, false, value ? '\xff' : '\x00');
}

export function octets(bytes: Uint8Array): Asn1 {
  return asn1.create(U, T.OCTETSTRING, false, toBinary(bytes));
}

/** BIT STRING from whole bytes (no unused bits). */
export function bits(bytes: Uint8Array): Asn1 {
  return asn1.create(U, T.BITSTRING, false, `\x00${toBinary(bytes)}`);
}

/** BIT STRING from a raw content octet string: first byte = number of unused bits. */
export function rawBits(content: string): Asn1 {
  return asn1.create(U, T.BITSTRING, false, content);
}

export function smallInt(n: number): Asn1 {
  return asn1.create(U, T.INTEGER, false, asn1.integerToDer(n).getBytes());
}

/** A non-negative INTEGER from hex digits, with a leading zero octet when the high bit is set. */
export function positiveIntFromHex(hex: string): Asn1 {
  let h = hex.length % 2 === 1 ? `0${hex}` : hex;
  h = h.replace(/^(00)+(?=..)/, '');
  let bytes = Buffer.from(h, 'hex');
  if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return asn1.create(U, T.INTEGER, false, toBinary(bytes));
}

export function contextExplicit(tag: number, inner: Asn1): Asn1 {
  return asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, true, [inner]);
}

export function utf8(text: string): Asn1 {
  return asn1.create(U, T.UTF8, false, toBinary(Buffer.from(text, 'utf8')));
}

/** AlgorithmIdentifier { oid, NULL } as RSA signatures carry it. */
export function algorithm(dotted: string): Asn1 {
  return seq([oid(dotted), nullValue()]);
}

/** RFC 5280 Time: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, Zulu. */
export function time(date: Date): Asn1 {
  const y = date.getUTCFullYear();
  const p = (n: number) => String(n).padStart(2, '0');
  const rest = `${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return asn1.create(U, T.UTCTIME, false, `${p(y % 100)}${rest}`);
  return asn1.create(U, T.GENERALIZEDTIME, false, `${String(y).padStart(4, '0')}${rest}`);
}

/** Name consisting of a single RDN CN=<cn>, as `-subj /CN=<cn>` produces (UTF8String). */
export function cnName(cn: string): Asn1 {
  return seq([set([seq([oid(OID.commonName), utf8(cn)])])]);
}

export function encode(node: Asn1): Buffer {
  return fromBinary(asn1.toDer(node).getBytes());
}

/**
 * Strict DER decode: definite lengths, every byte consumed, BIT STRINGs left opaque, and the
 * result must re-encode to the very same bytes (so anything signed over a re-encoded part is
 * signed over exactly what was received). Throws on anything else.
 */
export function decodeStrict(der: Uint8Array): Asn1 {
  const bin = toBinary(der);
  const node = asn1.fromDer(bin, { strict: true, parseAllBytes: true, decodeBitStrings: false } as unknown as boolean);
  if (asn1.toDer(node).getBytes() !== bin) throw new Error('not canonical DER');
  return node;
}

/** Decode DER as read from a certificate someone else made (no canonical re-encoding check). */
export function decode(der: Uint8Array): Asn1 {
  return asn1.fromDer(toBinary(der), { strict: true, parseAllBytes: true, decodeBitStrings: false } as unknown as boolean);
}

/** Helpers to walk a decoded tree. Each throws with a short reason on mismatch. */
export function children(node: Asn1 | undefined, what: string): Asn1[] {
  if (!node || !node.constructed || !Array.isArray(node.value)) throw new Error(`${what}: expected a constructed value`);
  return node.value;
}

export function expectUniversal(node: Asn1 | undefined, type: number, what: string): Asn1 {
  if (!node || node.tagClass !== U || node.type !== type) throw new Error(`${what}: unexpected ASN.1 type`);
  return node;
}

export function primitiveBytes(node: Asn1 | undefined, type: number, what: string): string {
  const n = expectUniversal(node, type, what);
  if (n.constructed || typeof n.value !== 'string') throw new Error(`${what}: expected a primitive value`);
  return n.value;
}

export function oidOf(node: Asn1 | undefined, what: string): string {
  return asn1.derToOid(primitiveBytes(node, T.OID, what));
}

export function isContext(node: Asn1 | undefined, tag: number): boolean {
  return node !== undefined && node.tagClass === asn1.Class.CONTEXT_SPECIFIC && node.type === tag;
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Text of a DirectoryString-ish value; throws on an unknown string type or bad encoding. */
export function stringValue(node: Asn1): string {
  if (node.tagClass !== U || node.constructed || typeof node.value !== 'string') throw new Error('attribute value is not a string');
  const raw = fromBinary(node.value);
  switch (node.type as number) {
    case T.UTF8:
      return fatalUtf8.decode(raw);
    case T.PRINTABLESTRING:
    case T.IA5STRING:
    case 20: // TeletexString, read as Latin-1 as OpenSSL does
      return raw.toString('latin1');
    case T.BMPSTRING: {
      if (raw.length % 2 !== 0) throw new Error('odd BMPString length');
      const swapped = Buffer.from(raw);
      swapped.swap16();
      return swapped.toString('utf16le');
    }
    default:
      throw new Error('unsupported string type in name');
  }
}

/** Every commonName value of a Name, in order. */
export function commonNames(name: Asn1): string[] {
  const out: string[] = [];
  for (const rdn of children(expectUniversal(name, T.SEQUENCE, 'name'), 'name')) {
    for (const atv of children(expectUniversal(rdn, T.SET, 'rdn'), 'rdn')) {
      const [type, value] = children(expectUniversal(atv, T.SEQUENCE, 'attribute'), 'attribute');
      if (oidOf(type, 'attribute type') === OID.commonName) {
        if (!value) throw new Error('attribute without value');
        out.push(stringValue(value));
      }
    }
  }
  return out;
}

export function pemEncode(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * Body of a single PEM block that starts at position 0 and is followed by nothing but
 * whitespace. Returns undefined when the text is not such a block or the base64 is bad.
 */
export function pemDecode(label: string, pem: string): Buffer | undefined {
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  if (!pem.startsWith(begin)) return undefined;
  const endAt = pem.indexOf(end, begin.length);
  if (endAt < 0) return undefined;
  if (!/^\s*$/.test(pem.slice(endAt + end.length))) return undefined;
  const body = pem.slice(begin.length, endAt).replace(/[\r\n\t ]/g, '');
  if (body.length === 0 || body.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return undefined;
  return Buffer.from(body, 'base64');
}

export const ASN1_TYPE = T;
