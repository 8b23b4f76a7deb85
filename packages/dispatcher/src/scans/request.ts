/**
 * A scan request (CLI options or API body) turned into the scan runner's arguments. The
 * runner checks them again on the agent; checking here too gives the caller a clear error
 * before anything is dispatched.
 */
import { UsageError } from '@ctrl-exec/core';
import { ENGINE_NAMES, SCAN_TYPES, enginesFor, type ScanType } from '@ctrl-exec/orchestrator';

export interface ScanRequest {
  types?: readonly string[];
  engines?: readonly string[];
  git?: string;
  ref?: string;
  archive?: string;
  path?: string;
}

/** Default scan types when neither types nor engines are given. */
export const DEFAULT_SCAN_TYPES: readonly ScanType[] = ['sast', 'sca', 'secrets', 'licence'];

export interface ScanPlan {
  engines: string[];
  /** The runner arguments naming the source. */
  source: string[];
  /** Everything the runner gets: `--engine` per engine, then the source. */
  args: string[];
}

export function planScan(request: ScanRequest): ScanPlan {
  const types = [...(request.types ?? [])];
  for (const t of types) if (!(SCAN_TYPES as readonly string[]).includes(t)) throw new UsageError(`unknown scan type '${t}' (${SCAN_TYPES.join(', ')})`);
  const named = [...(request.engines ?? [])];
  for (const e of named) if (!ENGINE_NAMES.includes(e)) throw new UsageError(`unknown engine '${e}' (${ENGINE_NAMES.join(', ')})`);
  const engines = enginesFor(types.length === 0 && named.length === 0 ? DEFAULT_SCAN_TYPES : (types as ScanType[]), named);
  const given = (['git', 'archive', 'path'] as const).filter((k) => typeof request[k] === 'string');
  if (given.length !== 1) throw new UsageError('give exactly one source: git, archive or path');
  if (request.ref !== undefined && request.git === undefined) throw new UsageError('ref goes with git');
  let source: string[];
  if (request.git !== undefined) source = ['--source', 'git', '--url', request.git, ...(request.ref !== undefined ? ['--ref', request.ref] : [])];
  else if (request.archive !== undefined) source = ['--source', 'archive', '--url', request.archive];
  else source = ['--source', 'path', '--path', request.path!];
  return { engines, source, args: [...engines.flatMap((e) => ['--engine', e]), ...source] };
}
