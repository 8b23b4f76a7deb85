/** The six-digit pairing confirmation code both sides show for one CSR (wire-protocol §2.3). */
import { createHash } from 'node:crypto';

/**
 * `sprintf('%06d', uint32_be(sha256(csr)[0..3]) % 1_000_000)` over the exact PEM bytes as
 * transmitted (including the trailing newline).
 */
export function pairingCode(csrPem: string | Uint8Array): string {
  const digest = createHash('sha256').update(typeof csrPem === 'string' ? Buffer.from(csrPem, 'utf8') : csrPem).digest();
  return String(digest.readUInt32BE(0) % 1_000_000).padStart(6, '0');
}
