/**
 * Checks request-pairing makes before any network I/O (feature 17): without them a
 * non-root run would only fail after the operator approved, when the files are written.
 */
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CtrlExecError, type AgentConfig } from '@ctrl-exec/core';

/** Where pairing writes, all absolute. */
export interface PairingPaths {
  /** agent.conf `ca_dir`: the agent's certificate directory (upstream /etc/ctrl-exec-agent). */
  certDir: string;
  cert: string;
  key: string;
  ca: string;
  stateDir: string;
  trustedDispatchersPath: string;
  /** `<state_dir>/pairing-request.json`: state of a background request. */
  requestStatePath: string;
}

export const REQUEST_STATE_FILE = 'pairing-request.json';

export function pairingPaths(config: AgentConfig): PairingPaths {
  return {
    certDir: config.caDir,
    cert: config.cert,
    key: config.key,
    ca: config.ca,
    stateDir: config.stateDir,
    trustedDispatchersPath: config.trustedDispatchersPath,
    requestStatePath: resolve(config.stateDir, REQUEST_STATE_FILE),
  };
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function missingDir(dir: string): CtrlExecError {
  return new CtrlExecError('CE_ERR_FS', `Cert directory '${dir}' does not exist - has the agent been installed?`, { details: { path: dir } });
}

function notWritable(dir: string): CtrlExecError {
  return new CtrlExecError('CE_ERR_NOT_PERMITTED', `Cannot write to '${dir}' - re-run as root or with sudo`, { details: { path: dir } });
}

/** An existing, writable directory. */
function requireWritableDir(dir: string): void {
  const st = statOrUndefined(dir);
  if (!st?.isDirectory()) throw missingDir(dir);
  if (!writable(dir)) throw notWritable(dir);
}

/** A directory that is writable, or can be created (its nearest existing ancestor is writable). */
function requireCreatableDir(dir: string): void {
  let current = resolve(dir);
  for (;;) {
    const st = statOrUndefined(current);
    if (st) {
      if (!st.isDirectory()) {
        throw new CtrlExecError('CE_ERR_FS', `Cannot use '${dir}': '${current}' is not a directory`, { details: { path: dir } });
      }
      if (!writable(current)) throw notWritable(current);
      return;
    }
    const parent = dirname(current);
    if (parent === current) throw notWritable(dir);
    current = parent;
  }
}

/**
 * The certificate directory must exist and be writable (as must the directories of the
 * cert, key and CA files, normally the same one); the state directory and the trusted map's
 * directory must be writable or creatable. Throws CE_ERR_FS / CE_ERR_NOT_PERMITTED.
 */
export function checkPairingPreconditions(paths: PairingPaths): void {
  requireWritableDir(paths.certDir);
  const fileDirs = new Set([dirname(paths.cert), dirname(paths.key), dirname(paths.ca)]);
  fileDirs.delete(paths.certDir);
  for (const dir of fileDirs) requireWritableDir(dir);
  requireCreatableDir(paths.stateDir);
  const mapDir = dirname(paths.trustedDispatchersPath);
  if (mapDir !== paths.stateDir) requireCreatableDir(mapDir);
}
