/** Random identifiers: certificate serials, request ids, pairing nonces. */
import { randomBytes } from 'node:crypto';

/**
 * A random positive 128-bit certificate serial in canonical form: exactly 32 lowercase hex
 * digits, the first non-zero, and at least one of a-f among them, so that upstream's reading
 * of all-digit serials as decimal (wire-protocol §1.4) never changes it.
 */
export function randomSerialHex(): string {
  for (;;) {
    const hex = randomBytes(16).toString('hex');
    if (hex[0] !== '0' && /[a-f]/.test(hex)) return hex;
  }
}

/** Request id: 16 lowercase hex digits. */
export function newReqid(): string {
  return randomBytes(8).toString('hex');
}

/** Pairing nonce: 32 lowercase hex digits. */
export function newNonce(): string {
  return randomBytes(16).toString('hex');
}
