/** Who is on the other end of a connection: address and certificate serial. */
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { canonicalSerialHex } from '@ctrl-exec/core';

/** An address as the audit log and allowlists want it: IPv4-mapped IPv6 folded to IPv4. */
export function normaliseIp(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:') && net.isIPv4(address.slice(7))) return address.slice(7);
  return address;
}

export interface PeerIdentity {
  ip: string;
  /** The certificate serial as the peer presented it (hex, as OpenSSL prints it); '' without one. */
  certSerial: string;
  /** Canonical lowercase hex without leading zeros; '' without a certificate. */
  serial: string;
  /** Lowercase hex as BN_bn2hex gives it (ENVEXEC_DISPATCHER_SERIAL). */
  rawSerial: string;
}

/** The serial of the client certificate of an established TLS connection. */
export function peerIdentity(socket: TLSSocket, ip: string): PeerIdentity {
  let certSerial = '';
  try {
    const cert = socket.getPeerCertificate();
    if (cert && typeof cert.serialNumber === 'string') certSerial = cert.serialNumber;
  } catch {
    /* no certificate */
  }
  let serial = '';
  if (certSerial !== '') {
    try {
      serial = canonicalSerialHex(certSerial);
    } catch {
      serial = '';
    }
  }
  return { ip, certSerial, serial, rawSerial: certSerial.toLowerCase() };
}
