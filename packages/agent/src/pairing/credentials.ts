/**
 * What the agent keeps from an approval (wire-protocol §2.8): its key, the certificate the
 * dispatcher signed, the CA certificate, and the dispatcher's serial in the trusted map.
 * Everything is checked first, so a bad answer stores nothing.
 */
import { mkdir } from 'node:fs/promises';
import {
  addTrustedDispatcher,
  canonicalSerialHex,
  certInfo,
  certMatchesKey,
  isValidDispatcherId,
  verifyIssuedBy,
  writeFileAtomic,
  writePrivateKey,
  type CertInfo,
} from '@ctrl-exec/core';
import { badCertificate, printable } from './failure.js';
import type { ApprovedVerdict } from './connection.js';
import type { PairingPaths } from './preflight.js';

export interface CheckedApproval extends ApprovedVerdict {
  cert: CertInfo;
  /** Canonical hex, or '' when the dispatcher sent no serial (then nothing is trusted). */
  serial: string;
  /** The id stored in the trusted map ('' when serial is ''). */
  id: string;
}

/**
 * The certificate must parse, carry our public key, be signed by the delivered CA and name
 * us; the dispatcher serial and id must be storable. Throws PairingError otherwise.
 */
export function checkApproval(approval: ApprovedVerdict, keyPem: string, agentName: string): CheckedApproval {
  let cert: CertInfo;
  try {
    cert = certInfo(approval.certPem);
  } catch (err) {
    throw badCertificate('the certificate in the pairing result is not readable.', err);
  }
  try {
    certInfo(approval.caPem);
  } catch (err) {
    throw badCertificate('the CA certificate in the pairing result is not readable.', err);
  }
  if (!certMatchesKey(approval.certPem, keyPem)) throw badCertificate('the certificate in the pairing result is not for our key.');
  if (!verifyIssuedBy(approval.certPem, approval.caPem)) throw badCertificate('the certificate in the pairing result is not signed by the delivered CA.');
  if (cert.subjectCn !== agentName) {
    throw badCertificate(`the certificate in the pairing result names '${printable(cert.subjectCn)}', not '${agentName}'.`);
  }
  let serial = '';
  if (approval.dispatcherSerial !== '') {
    try {
      serial = canonicalSerialHex(approval.dispatcherSerial);
    } catch (err) {
      throw badCertificate(`invalid dispatcher serial '${printable(approval.dispatcherSerial)}' in the pairing result.`, err);
    }
  }
  const id = serial === '' ? '' : approval.dispatcherId === '' ? serial : approval.dispatcherId;
  if (id !== '' && !isValidDispatcherId(id)) {
    throw badCertificate(`invalid dispatcher id '${printable(approval.dispatcherId)}' in the pairing result.`);
  }
  return { ...approval, cert, serial, id };
}

/**
 * Store the checked approval: state dir (0750) if missing, CA (0644), key (0600 from
 * creation), certificate (0644, last: a half-finished pairing never looks complete to
 * `paired`), then the trusted-map entry, keeping existing entries. Every file is replaced
 * atomically (temp file + rename).
 */
export async function storeCredentials(paths: PairingPaths, approval: CheckedApproval, keyPem: string): Promise<void> {
  await mkdir(paths.stateDir, { recursive: true, mode: 0o750 });
  await writeFileAtomic(paths.ca, approval.caPem, { mode: 0o644 });
  await writePrivateKey(paths.key, keyPem);
  await writeFileAtomic(paths.cert, approval.certPem, { mode: 0o644 });
  if (approval.serial !== '') await addTrustedDispatcher(paths.trustedDispatchersPath, approval.serial, approval.id);
}
