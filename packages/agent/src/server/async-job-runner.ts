/**
 * The detached async job (features 143-145): started by the agent with the script's
 * flock on descriptor 3 and the job description on stdin, it runs the script, replaces
 * the `running` record with the `done` one and logs `run`. It is its own process (and
 * session), so it outlives the connection and an agent restart; the lock goes with it.
 */
import { spawn } from 'node:child_process';
import { isoUtc, runScript, scrubEnv, type AsyncRecord, type AuditEvent, type ScriptResult } from '@ctrl-exec/core';
import { writeRecord } from './async-store.js';

export const JOB_SPEC_VERSION = 1;
/** Largest job description accepted on stdin (a 1 MiB request body, escaped, plus framing). */
export const MAX_SPEC_BYTES = 16 * 1024 * 1024;
/** The descriptor the agent hands the job the script's lock on. */
export const LOCK_FD = 3;

export interface AsyncJobSpec {
  v: typeof JOB_SPEC_VERSION;
  /** agent.conf, for the audit log settings. */
  configFile: string;
  recordPath: string;
  reqid: string;
  script: string;
  owner: string;
  started: string;
  /** What runScript needs. */
  path: string;
  args: string[];
  stdin: string;
  stdinTimeoutMs: number;
  timeoutMs?: number;
  maxOutputBytes: number;
  /** For the audit line. */
  peer: string;
  /** Strings never to appear in a log line (the caller's token). */
  secrets: string[];
}

export interface JobLog {
  log(event: AuditEvent): void;
  addSecret(secret: string): void;
}

/** The `done` record for a result. */
export type DoneRecord = Extract<AsyncRecord, { status: 'done' }>;

export function doneRecord(spec: AsyncJobSpec, result: ScriptResult, finished: Date): DoneRecord {
  const record: DoneRecord = {
    reqid: spec.reqid,
    status: 'done',
    script: spec.script,
    owner: spec.owner,
    started: spec.started,
    finished: isoUtc(finished),
    exit: result.exit,
    stdout: result.stdout,
    stderr: result.stderr !== '' || result.error === undefined ? result.stderr : result.error,
  };
  if (result.truncated) record.truncated = true;
  return record;
}

/** Check what arrived on stdin. */
export function parseJobSpec(text: string): AsyncJobSpec | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const s = v as Record<string, unknown>;
  const strings = ['configFile', 'recordPath', 'reqid', 'script', 'owner', 'started', 'path', 'stdin', 'peer'];
  if (s.v !== JOB_SPEC_VERSION || strings.some((k) => typeof s[k] !== 'string')) return undefined;
  if (!Array.isArray(s.args) || !s.args.every((a) => typeof a === 'string')) return undefined;
  if (!Array.isArray(s.secrets) || !s.secrets.every((a) => typeof a === 'string')) return undefined;
  if (typeof s.stdinTimeoutMs !== 'number' || typeof s.maxOutputBytes !== 'number') return undefined;
  if (s.timeoutMs !== undefined && typeof s.timeoutMs !== 'number') return undefined;
  return s as unknown as AsyncJobSpec;
}

/** The argument that marks a job process as the one for `reqid` (checked before a cancel signals it). */
export function jobMarker(reqid: string): string {
  return `--ctrl-exec-job=${reqid}`;
}

/**
 * Run the job to its end. Never throws; the record always ends `done`. `cancel` (SIGTERM
 * to the job process, see cancel.ts) stops the script's whole process group and the record
 * says `cancelled`.
 */
export async function runAsyncJob(spec: AsyncJobSpec, log: JobLog, cancel?: AbortSignal): Promise<AsyncRecord> {
  for (const s of spec.secrets) log.addSecret(s);
  // The running record learns our pid, so that a cancel can find us.
  try {
    writeRecord(spec.recordPath, { reqid: spec.reqid, status: 'running', script: spec.script, owner: spec.owner, started: spec.started, pid: process.pid });
  } catch (err) {
    log.log({ action: 'async-store-fail', error: err instanceof Error ? err.message : String(err), reqid: spec.reqid });
  }
  const result = await runScript({
    ...(cancel ? { signal: cancel } : {}),
    path: spec.path,
    args: spec.args,
    stdin: spec.stdin,
    env: process.env,
    stdinTimeoutMs: spec.stdinTimeoutMs,
    maxOutputBytes: spec.maxOutputBytes,
    ...(spec.timeoutMs !== undefined ? { timeoutMs: spec.timeoutMs } : {}),
    onStdinTimeout: (bytes) => log.log({ action: 'stdin-timeout', bytes, reqid: spec.reqid, script: spec.script }),
  });
  const record = doneRecord(spec, result, new Date());
  if (cancel?.aborted) record.cancelled = true;
  try {
    writeRecord(spec.recordPath, record);
  } catch (err) {
    log.log({ action: 'async-store-fail', error: err instanceof Error ? err.message : String(err), reqid: spec.reqid });
  }
  const event: AuditEvent = { action: 'run', dispatcher: spec.owner, exit: result.exit, peer: spec.peer, reqid: spec.reqid, script: spec.script };
  if (result.timedOut) event.timed_out = true;
  if (cancel?.aborted) event.cancelled = true;
  log.log(event);
  return record;
}

export interface StartedJob {
  pid: number;
}

/**
 * Start the job process: `node <entry>`, detached (own session), no stdio but the job
 * description on stdin and the lock on descriptor 3, a scrubbed environment. The caller
 * closes its own copy of the lock descriptor afterwards. Throws when no process starts.
 */
export function startJobProcess(entry: string, spec: AsyncJobSpec, lockFd: number, env: NodeJS.ProcessEnv = process.env): StartedJob {
  const child = spawn(process.execPath, [entry, jobMarker(spec.reqid)], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore', lockFd],
    env: scrubEnv(env),
    cwd: '/',
    windowsHide: true,
  });
  if (child.pid === undefined) {
    // The 'error' event follows; nothing was started.
    child.on('error', () => undefined);
    throw new Error('could not start the job process');
  }
  child.on('error', () => undefined);
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(JSON.stringify(spec));
  child.unref();
  return { pid: child.pid };
}
