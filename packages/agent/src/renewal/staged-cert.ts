/**
 * A renewed agent certificate (wire-protocol §1.5 /renew-complete, §4.3): checked against the
 * agent's CA and key, staged next to the live one, and installed by `promote-cert` before the
 * agent starts. The same checks run when the certificate is staged and again when it is
 * promoted, so a staged file that was replaced or went stale in between is never installed.
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { certInfo, certMatchesKey, verifyIssuedBy, writeFileAtomicSync, type CertInfo } from '@ctrl-exec/core';

/** Mode of a staged or promoted certificate (upstream: 0640). */
export const CERT_FILE_MODE = 0o640;

export interface RenewalPaths {
  /** The agent's CA certificate (agent.conf `ca`). */
  ca: string;
  /** The agent's private key (agent.conf `key`). */
  key: string;
}

export type CertCheck = { ok: true; info: CertInfo } | { ok: false; error: string };

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Whether `certPem` may replace the agent's certificate; the error texts are upstream's. */
export function checkRenewedCert(certPem: string, paths: RenewalPaths, now: Date = new Date()): CertCheck {
  const ca = readOr(paths.ca);
  if (ca === undefined) return { ok: false, error: `CA cert not found at '${paths.ca}'` };
  const key = readOr(paths.key);
  if (key === undefined) return { ok: false, error: `agent key not found at '${paths.key}'` };
  let info: CertInfo;
  try {
    info = certInfo(certPem);
  } catch {
    return { ok: false, error: 'renewed cert is not a readable certificate' };
  }
  if (!verifyIssuedBy(certPem, ca)) return { ok: false, error: 'renewed cert does not verify against the agent CA' };
  if (!certMatchesKey(certPem, key)) return { ok: false, error: 'renewed cert public key does not match the agent key' };
  if (info.notAfterDate.getTime() <= now.getTime()) return { ok: false, error: `renewed cert expired on ${info.notAfter}` };
  return { ok: true, info };
}

/** Write `certPem` to `path` atomically with mode 0640 (parent created if missing). */
export function writeCertFile(path: string, certPem: string): void {
  writeFileAtomicSync(path, certPem.endsWith('\n') ? certPem : `${certPem}\n`, { mode: CERT_FILE_MODE, mkdirParent: true });
}

/** The staged certificate's text, or undefined when there is none. */
export function readStaged(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return undefined;
  } catch {
    return undefined;
  }
  return readOr(path);
}

export function removeStaged(path: string): void {
  rmSync(path, { force: true });
}
