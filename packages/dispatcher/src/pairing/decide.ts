/**
 * Approving and denying queued pairing requests (wire-protocol §2.7). Used by the
 * `approve`/`deny` commands and by the interactive prompt of `pairing-mode`.
 */
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { isIP } from 'node:net';
import {
  CtrlExecError,
  UsageError,
  certInfo,
  isoUtc,
  issueCertificate,
  loadCa,
  sanitiseDispatcherId,
  type AgentRecord,
  type AuditEvent,
  type DispatcherConfig,
  type IssuedCert,
  type PairingQueue,
  type PairingRequest,
  type Registry,
} from '@ctrl-exec/core';

/** Certificates issued at pairing are valid for 825 days, as upstream. */
export const PAIRING_CERT_DAYS = 825;

export interface ApproveOverrides {
  lookupBy?: string;
  ip?: string;
  agentPort?: string | number;
}

export interface ApproveResult {
  request: PairingRequest;
  record: AgentRecord;
  issued: IssuedCert;
  dispatcherSerial: string;
  dispatcherId: string;
  warnings: string[];
}

export function validateOverrides(o: ApproveOverrides): { lookupBy?: 'ip' | 'hostname'; ip?: string; port?: number } {
  const out: { lookupBy?: 'ip' | 'hostname'; ip?: string; port?: number } = {};
  if (o.lookupBy !== undefined) {
    if (o.lookupBy !== 'ip' && o.lookupBy !== 'hostname') throw new UsageError("--lookup-by must be 'ip' or 'hostname'");
    out.lookupBy = o.lookupBy;
  }
  if (o.agentPort !== undefined) {
    const text = String(o.agentPort);
    const n = Number(text);
    if (!/^\d{1,5}$/.test(text) || n < 1 || n > 65535) throw new UsageError('--agent-port must be a port number (1-65535)');
    out.port = n;
  }
  if (o.ip !== undefined) {
    if (!isIP(o.ip)) throw new UsageError('--ip must be an IPv4 or IPv6 address');
    out.ip = o.ip;
  }
  return out;
}

/** The dispatcher's own serial and id, as delivered to agents at pairing. */
export function dispatcherIdentity(config: DispatcherConfig): { serial: string; id: string; warnings: string[] } {
  const warnings: string[] = [];
  let serial = '';
  try {
    serial = certInfo(readFileSync(config.cert, 'utf8')).serial;
  } catch {
    warnings.push(
      `WARNING: cannot read the dispatcher certificate '${config.cert}': the agent will trust no serial and reject every request as 'serial mismatch'. Run 'ctrl-exec setup-ctrl-exec' and re-pair.`,
    );
  }
  return { serial, id: sanitiseDispatcherId(config.dispatcherId, osHostname()), warnings };
}

function pendingRequest(queue: PairingQueue, id: string): PairingRequest {
  const req = queue.get(id);
  if (!req || queue.verdict(id)) throw new CtrlExecError('CE_ERR_NOT_FOUND', `No pending request '${id}'`, { details: { id } });
  return req;
}

/**
 * Sign the request's CSR and hand the verdict to the waiting listener. The CSR is validated
 * first: a refused CSR writes nothing (no verdict file, no registry record).
 */
export function approveRequest(opts: {
  config: DispatcherConfig;
  queue: PairingQueue;
  registry: Registry;
  id: string;
  overrides?: ApproveOverrides;
  audit: (e: AuditEvent) => void;
}): ApproveResult {
  const o = validateOverrides(opts.overrides ?? {});
  const req = pendingRequest(opts.queue, opts.id);
  const ca = loadCa(opts.config.caDir);
  const issued = issueCertificate(ca, req.csr, { days: PAIRING_CERT_DAYS });
  const ident = dispatcherIdentity(opts.config);
  const now = isoUtc();
  const record: AgentRecord = {
    hostname: req.hostname,
    ip: o.ip ?? req.ip ?? '',
    paired: now,
    expiry: issued.notAfter,
    reqid: req.id,
    lookup_by: o.lookupBy ?? req.lookup_by ?? 'hostname',
    port: o.port ?? req.port ?? 7443,
    tags: {},
    dispatcher_serial: ident.serial,
    serial_status: ident.serial ? 'current' : 'unknown',
    serial_broadcast: '',
    serial_confirmed: now,
  };
  opts.queue.setVerdict(req.id, {
    status: 'approved',
    cert: issued.certPem,
    ca: ca.certPem,
    nonce: req.nonce,
    dispatcher_serial: ident.serial,
    dispatcher_id: ident.id,
  });
  opts.registry.put(record);
  opts.audit({ action: 'pair-approve', agent: req.hostname, reqid: req.id });
  return { request: req, record, issued, dispatcherSerial: ident.serial, dispatcherId: ident.id, warnings: ident.warnings };
}

export function denyRequest(opts: { queue: PairingQueue; id: string; audit: (e: AuditEvent) => void }): PairingRequest {
  const req = pendingRequest(opts.queue, opts.id);
  opts.queue.setVerdict(req.id, { status: 'denied', reason: 'rejected by operator' });
  opts.audit({ action: 'pair-deny', agent: req.hostname, reqid: req.id });
  return req;
}

/** The lines `approve` prints after a successful approval. */
export function approvalMessage(r: ApproveResult): string[] {
  const rec = r.record;
  const addr = rec.lookup_by === 'ip' && rec.ip ? rec.ip : rec.hostname;
  const lines = [
    `Approved '${rec.hostname}' (${r.request.id}). Cert delivered on next poll.`,
    `Registered address: ${addr}:${rec.port} (lookup by ${rec.lookup_by}${rec.ip ? `, ip ${rec.ip}` : ''})`,
    `If that address is wrong, fix it without re-pairing:`,
    `  ctrl-exec edit-agent ${rec.hostname} --lookup-by ip --ip <address>`,
    `  ctrl-exec edit-agent ${rec.hostname} --agent-port <port>`,
  ];
  return [...r.warnings, ...lines];
}
