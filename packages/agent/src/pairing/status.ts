/** Whether this agent holds a usable pairing: certificate, key and CA certificate on disk. */
import { existsSync, readFileSync } from 'node:fs';
import { certInfo } from '@ctrl-exec/core';

export interface CredentialPaths {
  cert: string;
  key: string;
  ca: string;
}

export type PairingState = { paired: true; notAfter: string; notAfterDate: Date; subjectCn: string } | { paired: false; reason: string };

/** `paired` (feature 73): all three files exist. Nothing is read. */
export function credentialsPresent(paths: CredentialPaths): boolean {
  return existsSync(paths.cert) && existsSync(paths.key) && existsSync(paths.ca);
}

/** `pairing-status` (feature 68): the three files exist and the certificate parses. */
export function pairingState(paths: CredentialPaths): PairingState {
  if (!existsSync(paths.cert)) return { paired: false, reason: `certificate not found at ${paths.cert}` };
  if (!existsSync(paths.key)) return { paired: false, reason: `private key not found at ${paths.key}` };
  if (!existsSync(paths.ca)) return { paired: false, reason: `CA certificate not found at ${paths.ca}` };
  let pem: string;
  try {
    pem = readFileSync(paths.cert, 'utf8');
  } catch (err) {
    return { paired: false, reason: `cannot read certificate ${paths.cert}: ${(err as NodeJS.ErrnoException).code ?? 'EIO'}` };
  }
  try {
    const info = certInfo(pem);
    return { paired: true, notAfter: info.notAfter, notAfterDate: info.notAfterDate, subjectCn: info.subjectCn };
  } catch {
    return { paired: false, reason: `certificate ${paths.cert} is not readable` };
  }
}
