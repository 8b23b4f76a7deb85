/**
 * Certificate serial numbers in their one canonical text form: lowercase hex without
 * leading zeros ("0" for zero). Upstream 0.12.3 reads any all-decimal-digit string as a
 * decimal number, so the certificate serials 0x10 and 0x0A both became "a"; we keep that
 * reading only where upstream data needs it (see legacySerial and serialCandidates).
 */
import { CtrlExecError } from '../errors.js';

const HEX = /^[0-9a-f]+$/;

function stripZeros(hex: string): string {
  const s = hex.replace(/^0+(?=[0-9a-f])/, '');
  return s;
}

function stripPrefixes(raw: string): string {
  let s = raw.trim();
  s = s.replace(/^0x/i, '');
  s = s.replace(/^serial=/i, '');
  s = s.replace(/^0x/i, '');
  return s;
}

/**
 * Canonical form of a serial known to be hexadecimal: a certificate's serial
 * (X509Certificate.serialNumber, openssl `-serial`, BN_bn2hex), with or without
 * `0x`, `serial=` or colons. Throws CE_ERR_SERIAL_INVALID on anything else.
 */
export function canonicalSerialHex(raw: string): string {
  const s = stripPrefixes(raw).replace(/:/g, '').toLowerCase();
  if (!HEX.test(s)) throw new CtrlExecError('CE_ERR_SERIAL_INVALID', `not a hexadecimal serial: '${raw}'`);
  return stripZeros(s);
}

/**
 * Canonical form of a serial typed by a person or read from an operator file
 * (revoked-serials, CLI arguments): `deadbeef`, `DE:AD:BE:EF`, `0xdeadbeef`,
 * `serial=DEADBEEF` and the decimal `3735928559` all give `deadbeef`. As upstream,
 * a bare all-digit string is decimal; colon, `0x` and `serial=` forms are always hex.
 * Returns undefined for text that is no serial at all.
 */
export function parseSerialInput(raw: string): string | undefined {
  const trimmed = raw.trim();
  if (trimmed === '') return undefined;
  const explicitHex = /^(0x|serial=)/i.test(trimmed) || trimmed.includes(':');
  const s = stripPrefixes(trimmed).replace(/:/g, '').toLowerCase();
  if (s === '') return undefined;
  if (!explicitHex && /^[0-9]+$/.test(s)) return BigInt(s).toString(16);
  if (!HEX.test(s)) return undefined;
  return stripZeros(s);
}

/**
 * Upstream 0.12.3's `serial_to_hex`, reproduced exactly, for reading what upstream wrote
 * (trusted maps, pairing files) and for matching certificates it issued.
 * Returns undefined where upstream would produce `nan`.
 */
export function legacySerial(raw: string): string | undefined {
  if (raw === '') return '';
  let s = raw.replace(/^0x/i, '').replace(/^serial=/i, '');
  if (s.includes(':')) return s.replace(/:/g, '').toLowerCase().replace(/^0+(?=[0-9a-f])/, '');
  s = s.toLowerCase();
  if (/^[0-9]+$/.test(s)) return BigInt(s).toString(16);
  if (HEX.test(s)) return s.replace(/^0+(?=[0-9a-f])/, '');
  return undefined;
}

/**
 * The keys under which a certificate's serial may be stored in a trusted map or a
 * revocation list: its canonical hex, plus upstream's reading of it when that differs
 * (certificate serials whose hex digits are all decimal, as upstream's sequential CA issues).
 */
export function serialCandidates(certSerial: string): string[] {
  const hex = canonicalSerialHex(certSerial);
  const padded = hex.length % 2 === 1 ? `0${hex}` : hex; // BN_bn2hex form
  const legacy = legacySerial(padded.toUpperCase());
  return legacy !== undefined && legacy !== hex ? [hex, legacy] : [hex];
}
