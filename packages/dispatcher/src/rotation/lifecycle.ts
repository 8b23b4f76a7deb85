/**
 * Dispatcher certificate rotation (wire-protocol §4.1, features.md items 154-160, DESIGN §3
 * item 3): a new key and certificate, an overlap during which agents learn the new serial
 * while still trusting the old one, then the old serial's retirement.
 *
 * Unlike upstream, every announcement of the new serial goes over a connection presenting
 * the previous certificate (kept beside rotation.json until retirement), the one the agents
 * still trust; the retirement (`remove` of the old serial) goes over the new one.
 */
import { readFileSync } from 'node:fs';
import {
  CtrlExecError,
  DEFAULT_ROTATION_CERT_DAYS,
  DISPATCHER_COMMON_NAME,
  certInfo,
  createCsr,
  generateRsaKey,
  issueCertificate,
  loadCa,
  writeFileAtomicSync,
  writePrivateKey,
  type AuditEvent,
  type DispatcherConfig,
  type Registry,
} from '@ctrl-exec/core';
import { chownToServiceUser } from '../service-user.js';
import { announceSerial, clientFor, type AnnounceOutcome } from './announce.js';
import {
  inOverlap,
  loadPreviousIdentity,
  readRotationState,
  removePreviousIdentity,
  savePreviousIdentity,
  writeRotationState,
  type RotationState,
} from './state.js';

export interface RotationDeps {
  config: DispatcherConfig;
  registry: Registry;
  audit: (event: AuditEvent) => void;
  /** Injected clock (tests). */
  now?: () => Date;
}

export interface BroadcastSummary {
  attempted: number;
  updated: string[];
  failed: Array<{ host: string; error: string }>;
}

export interface RotationResult extends BroadcastSummary {
  newSerial: string;
  oldSerial: string;
  overlapExpires: string;
  pending: number;
}

const DAY_MS = 86_400_000;
const NEEDS_ANNOUNCEMENT = new Set(['pending', 'unknown', '']);

function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function clock(deps: RotationDeps): Date {
  return deps.now ? deps.now() : new Date();
}

/** rotation.json, auditing `rotation-state-corrupt` before rethrowing. */
export function loadRotationState(deps: RotationDeps): RotationState | undefined {
  try {
    return readRotationState(deps.config.paths.rotationFile);
  } catch (err) {
    if (err instanceof CtrlExecError && err.code === 'CE_ERR_ROTATION_STATE') {
      deps.audit({ action: 'rotation-state-corrupt', path: deps.config.paths.rotationFile, error: err.message, reason: String(err.details?.reason ?? ''), level: 'err' });
    }
    throw err;
  }
}

/** Rotate now: new key and certificate, rotation.json, every agent pending, then the broadcast. */
export async function rotateCert(deps: RotationDeps): Promise<RotationResult> {
  const { config, registry, audit } = deps;
  const now = clock(deps);
  try {
    const previous = loadRotationState(deps);
    if (inOverlap(previous, now)) {
      throw new CtrlExecError(
        'CE_ERR_USAGE',
        `a rotation is still in its overlap until ${previous!.overlap_expires}; the previous serial ${previous!.previous_serial} must be retired first (ctrl-exec maintain after that date)`,
      );
    }
    const oldCert = readFileSync(config.cert, 'utf8');
    const oldKey = readFileSync(config.key, 'utf8');
    const oldSerial = certInfo(oldCert).serial;
    const ca = loadCa(config.caDir);
    // The new identity exists in memory first. On disk: the previous identity, then the
    // state naming both serials, then the new key and certificate. Interrupted anywhere,
    // the dispatcher still holds a certificate its agents trust.
    const newKey = await generateRsaKey(config.keyBits);
    const issued = issueCertificate(ca, createCsr(newKey, DISPATCHER_COMMON_NAME), { days: config.certDays ?? DEFAULT_ROTATION_CERT_DAYS });
    await savePreviousIdentity(config, oldCert, oldKey);
    const overlapExpires = iso(new Date(now.getTime() + config.certOverlapDays * DAY_MS));
    writeRotationState(config.paths.rotationFile, {
      current_serial: issued.serial,
      previous_serial: oldSerial,
      rotated_at: iso(now),
      overlap_expires: overlapExpires,
      overlap_days: config.certOverlapDays,
    });
    await writePrivateKey(config.key, newKey);
    chownToServiceUser(config, config.key);
    writeFileAtomicSync(config.cert, issued.certPem, { mode: 0o644 });
    const names = registry.names();
    for (const name of names) {
      registry.update(name, (r) => ({ ...r, serial_status: 'pending', serial_broadcast: iso(now) }));
    }
    audit({ action: 'cert-rotated', agents: names.length, new_serial: issued.serial, old_serial: oldSerial, overlap_expires: overlapExpires });
    const summary = await broadcastPending(deps);
    return { newSerial: issued.serial, oldSerial, overlapExpires, pending: names.length, ...summary };
  } catch (err) {
    audit({ action: 'cert-rotation-fail', error: (err as Error).message, level: 'err' });
    throw err;
  }
}

/**
 * Announce the current serial to every agent not yet confirmed, presenting the previous
 * certificate (the one they trust). A confirmed agent's record becomes `current`.
 * Nothing to do outside an overlap.
 */
export async function broadcastPending(deps: RotationDeps): Promise<BroadcastSummary> {
  const { config, registry, audit } = deps;
  const now = clock(deps);
  const state = loadRotationState(deps);
  const empty: BroadcastSummary = { attempted: 0, updated: [], failed: [] };
  if (!state || !inOverlap(state, now)) return empty;
  const records = registry.list().filter((r) => NEEDS_ANNOUNCEMENT.has(r.serial_status));
  if (records.length === 0) return empty;
  const identity = loadPreviousIdentity(config) ?? { cert: readFileSync(config.cert, 'utf8'), key: readFileSync(config.key, 'utf8') };
  const client = clientFor(config, identity, readFileSync(config.ca, 'utf8'));
  audit({ action: 'serial-broadcast', dispatcher: config.dispatcherId, hosts: records.length, serial: state.current_serial });
  let outcomes: AnnounceOutcome[];
  try {
    outcomes = await announceSerial(client, records, state.current_serial, 'add', config.maxParallel);
  } finally {
    client.close();
  }
  const summary: BroadcastSummary = { attempted: records.length, updated: [], failed: [] };
  for (const o of outcomes) {
    if (o.ok) {
      registry.update(o.host, (r) => ({ ...r, serial_status: 'current', dispatcher_serial: state.current_serial, serial_confirmed: iso(clock(deps)) }));
      audit({ action: 'serial-confirmed', agent: o.host });
      summary.updated.push(o.host);
    } else {
      audit({ action: 'serial-broadcast-fail', agent: o.host, error: o.error ?? 'unknown error', level: 'warning' });
      summary.failed.push({ host: o.host, error: o.error ?? 'unknown error' });
    }
  }
  return summary;
}

export interface ExpireSummary {
  /** False when there was nothing to expire (no overlap, or not over yet). */
  expired: boolean;
  stale: string[];
  retired: string[];
  failed: Array<{ host: string; error: string }>;
}

/**
 * After the overlap: agents that never confirmed become `stale` (they must be paired again),
 * confirmed agents drop the previous serial, and rotation.json records the retirement.
 * Runs once per rotation, whatever the per-agent outcome.
 */
export async function expireOverlap(deps: RotationDeps): Promise<ExpireSummary> {
  const { config, registry, audit } = deps;
  const now = clock(deps);
  const state = loadRotationState(deps);
  const none: ExpireSummary = { expired: false, stale: [], retired: [], failed: [] };
  if (!state?.previous_serial || Date.parse(state.overlap_expires) > now.getTime()) return none;
  const oldSerial = state.previous_serial;
  const summary: ExpireSummary = { expired: true, stale: [], retired: [], failed: [] };
  const records = registry.list();
  for (const r of records) {
    if (NEEDS_ANNOUNCEMENT.has(r.serial_status)) {
      registry.update(r.hostname, (rec) => ({ ...rec, serial_status: 'stale' }));
      audit({ action: 'serial-stale', agent: r.hostname, reason: 'overlap expired before the agent confirmed the new serial', level: 'warning' });
      summary.stale.push(r.hostname);
    }
  }
  const confirmed = records.filter((r) => r.serial_status === 'current' || r.serial_status === 'confirmed');
  if (confirmed.length > 0) {
    const client = clientFor(config, { cert: readFileSync(config.cert, 'utf8'), key: readFileSync(config.key, 'utf8') }, readFileSync(config.ca, 'utf8'));
    try {
      for (const o of await announceSerial(client, confirmed, oldSerial, 'remove', config.maxParallel)) {
        if (o.ok) summary.retired.push(o.host);
        else {
          summary.failed.push({ host: o.host, error: o.error ?? 'unknown error' });
          audit({ action: 'serial-retire-error', agent: o.host, error: o.error ?? 'unknown error', level: 'warning' });
        }
      }
    } finally {
      client.close();
    }
  }
  const { previous_serial: _retired, ...rest } = state;
  writeRotationState(config.paths.rotationFile, { ...rest, previous_retired: iso(now) });
  removePreviousIdentity(config);
  audit({ action: 'serial-retire', hosts: summary.retired.length, serial: oldSerial });
  return summary;
}

/** Rotate when the dispatcher certificate has `cert_renewal_days` or fewer left (maintain). */
export async function checkAndRotate(deps: RotationDeps): Promise<RotationResult | undefined> {
  const now = clock(deps);
  const info = certInfo(readFileSync(deps.config.cert, 'utf8'));
  const daysLeft = Math.floor((info.notAfterDate.getTime() - now.getTime()) / DAY_MS);
  deps.audit({ action: 'cert-check', days_left: daysLeft, threshold: deps.config.certRenewalDays });
  if (daysLeft > deps.config.certRenewalDays) return undefined;
  deps.audit({ action: 'cert-renewal-start', days_left: daysLeft });
  return rotateCert(deps);
}
