/**
 * Rotation state, `<state_dir>/rotation.json` (wire-protocol §4.1, §5.3; 0640):
 * `{"current_serial","previous_serial","rotated_at","overlap_expires","overlap_days"}`, and
 * `previous_retired` once the overlap has ended and the old serial was withdrawn.
 *
 * Beside it we keep the previous certificate and key (`rotation-previous.crt` / `.key`, the
 * key 0600) for as long as the overlap lasts: agents that missed the first announcement
 * are told of the new serial over a connection that presents the old certificate, the one
 * they still trust (DESIGN §3 item 3). They are removed when the old serial is retired.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CtrlExecError, writeFileAtomicSync, writePrivateKey, type DispatcherConfig } from '@ctrl-exec/core';

export interface RotationState {
  current_serial: string;
  previous_serial?: string;
  rotated_at: string;
  overlap_expires: string;
  overlap_days: number;
  previous_retired?: string;
  [extra: string]: unknown;
}

export const ROTATION_FILE_MODE = 0o640;

/** Where the previous identity waits during the overlap. */
export function previousIdentityPaths(config: Pick<DispatcherConfig, 'paths'>): { cert: string; key: string } {
  const dir = dirname(config.paths.rotationFile);
  return { cert: join(dir, 'rotation-previous.crt'), key: join(dir, 'rotation-previous.key') };
}

/** The state on disk; undefined when no rotation was ever made. Corrupt → CE_ERR_ROTATION_STATE. */
export function readRotationState(path: string): RotationState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CtrlExecError('CE_ERR_FS', `cannot read rotation state '${path}': ${(err as NodeJS.ErrnoException).code}`, { cause: err, details: { path } });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw corrupt(path, 'JSON parse failed - rotation state unreadable', err);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw corrupt(path, 'not a JSON object');
  const s = raw as Record<string, unknown>;
  for (const key of ['current_serial', 'rotated_at', 'overlap_expires'] as const) {
    if (typeof s[key] !== 'string' || s[key] === '') throw corrupt(path, `${key} missing`);
  }
  if (s.previous_serial !== undefined && typeof s.previous_serial !== 'string') throw corrupt(path, 'previous_serial is not a string');
  if (Number.isNaN(Date.parse(s.overlap_expires as string))) throw corrupt(path, 'overlap_expires is not a date');
  return { ...s, overlap_days: Number(s.overlap_days) || 0 } as RotationState;
}

function corrupt(path: string, reason: string, cause?: unknown): CtrlExecError {
  return new CtrlExecError('CE_ERR_ROTATION_STATE', `rotation state '${path}' is corrupt: ${reason}`, { cause, details: { path, reason } });
}

export function writeRotationState(path: string, state: RotationState): void {
  writeFileAtomicSync(path, `${JSON.stringify(state, null, 2)}\n`, { mode: ROTATION_FILE_MODE, mkdirParent: true });
}

/** True while the old serial is still announced and trusted. */
export function inOverlap(state: RotationState | undefined, now: Date): boolean {
  return state?.previous_serial !== undefined && Date.parse(state.overlap_expires) > now.getTime();
}

/** Keep the outgoing certificate and key until the old serial is retired. */
export async function savePreviousIdentity(config: Pick<DispatcherConfig, 'paths'>, certPem: string, keyPem: string): Promise<void> {
  const paths = previousIdentityPaths(config);
  mkdirSync(dirname(paths.key), { recursive: true, mode: 0o750 });
  await writePrivateKey(paths.key, keyPem);
  writeFileAtomicSync(paths.cert, certPem, { mode: 0o644, mkdirParent: true });
}

export function loadPreviousIdentity(config: Pick<DispatcherConfig, 'paths'>): { cert: string; key: string } | undefined {
  const paths = previousIdentityPaths(config);
  if (!existsSync(paths.cert) || !existsSync(paths.key)) return undefined;
  return { cert: readFileSync(paths.cert, 'utf8'), key: readFileSync(paths.key, 'utf8') };
}

export function removePreviousIdentity(config: Pick<DispatcherConfig, 'paths'>): void {
  const paths = previousIdentityPaths(config);
  rmSync(paths.key, { force: true });
  rmSync(paths.cert, { force: true });
}
