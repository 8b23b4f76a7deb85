/**
 * POST /run (wire-protocol §1.5): decode, check args and script, ask the auth hook, then
 * run synchronously (the answer carries the result) or start a detached async job.
 */
import { closeSync } from 'node:fs';
import {
  DEFAULT_MAX_OUTPUT_BYTES,
  SCRIPT_NAME,
  buildStdinContext,
  checkScriptPath,
  isoUtc,
  runScript,
  type AsyncAccepted,
  type AsyncBusy,
  type RunRefusal,
  type RunResponse,
  type ScriptEntry,
} from '@ctrl-exec/core';
import { startJobProcess, JOB_SPEC_VERSION, type AsyncJobSpec } from './async-job-runner.js';
import { isStorableReqid, purgeExpired, recordPath, tryLockScript, writeRecord } from './async-store.js';
import { jsonObject, perlTruthy, stringField } from './http.js';
import { agentHook } from './hook.js';
import type { Reply, RouteContext } from './route-context.js';

/** A checked /run request. */
export interface RunRequestFields {
  script: string;
  args: string[];
  reqid: string;
  username: string;
  token: string;
  async: boolean;
}

type Decoded = { ok: true; req: RunRequestFields } | { ok: false; reply: Reply };

function refusal(body: RunRefusal): Reply {
  return { status: 200, body };
}

/** JSON decode, then `args`: a missing args is none; anything but an array of strings is refused. */
export function decodeRunRequest(raw: Buffer): Decoded {
  const obj = jsonObject(raw);
  if (!obj) return { ok: false, reply: refusal({ exit: -1, error: 'invalid JSON' }) };
  const reqid = stringField(obj, 'reqid');
  const argsValue = Object.hasOwn(obj, 'args') ? obj.args : undefined;
  let args: string[];
  if (argsValue === undefined || argsValue === null) args = [];
  else if (Array.isArray(argsValue) && argsValue.every((a) => typeof a === 'string')) args = argsValue as string[];
  else return { ok: false, reply: refusal({ exit: -1, error: 'args must be an array', reqid }) };
  const scriptValue = Object.hasOwn(obj, 'script') ? obj.script : undefined;
  return {
    ok: true,
    req: {
      script: typeof scriptValue === 'string' ? scriptValue : '',
      args,
      reqid,
      username: stringField(obj, 'username'),
      token: stringField(obj, 'token'),
      async: perlTruthy(obj.async),
    },
  };
}

/** The allowlisted entry and the path to execute, or undefined when the script may not run. */
export function permittedScript(ctx: RouteContext, name: string): { entry: ScriptEntry; execPath: string } | undefined {
  if (!SCRIPT_NAME.test(name)) return undefined;
  const entry = ctx.state.scripts.get(name);
  if (!entry) return undefined;
  const dirs = ctx.state.settings.scriptDirs;
  const check = checkScriptPath(entry.path, dirs);
  if (!check.ok) return undefined;
  // Under script_dirs, execute what was checked: a symlink swapped afterwards cannot redirect us.
  return { entry, execPath: dirs === undefined ? entry.path : check.realPath };
}

async function hookAllows(ctx: RouteContext, req: RunRequestFields): Promise<{ allowed: true } | { allowed: false; reason: string }> {
  const decision = await agentHook(ctx, { action: 'run', script: req.script, args: req.args, username: req.username, token: req.token });
  return !decision || decision.allowed ? { allowed: true } : { allowed: false, reason: decision.reason };
}

export async function handleRun(ctx: RouteContext): Promise<Reply> {
  const decoded = decodeRunRequest(ctx.body);
  if (!decoded.ok) return decoded.reply;
  const req = decoded.req;
  ctx.runtime.addSecret(req.token);
  const { log } = ctx.runtime;

  const permitted = permittedScript(ctx, req.script);
  if (!permitted) {
    log({ action: 'deny', peer: ctx.peer.ip, reqid: req.reqid, script: req.script });
    return refusal({ script: req.script, exit: -1, error: 'script not permitted', reqid: req.reqid });
  }
  const verdict = await hookAllows(ctx, req);
  if (!verdict.allowed) {
    log({ action: 'deny', dispatcher: ctx.dispatcher, peer: ctx.peer.ip, reason: verdict.reason, reqid: req.reqid, script: req.script });
    return refusal({ script: req.script, exit: -1, error: `not authorised: ${verdict.reason}`, reqid: req.reqid });
  }
  return req.async ? startAsync(ctx, req, permitted.entry, permitted.execPath) : runSync(ctx, req, permitted.entry, permitted.execPath);
}

function stdinFor(ctx: RouteContext, req: RunRequestFields): string {
  return buildStdinContext({
    script: req.script,
    args: req.args,
    reqid: req.reqid,
    peer_ip: ctx.peer.ip,
    username: req.username,
    token: req.token,
    dispatcher: ctx.dispatcher,
  });
}

async function runSync(ctx: RouteContext, req: RunRequestFields, entry: ScriptEntry, execPath: string): Promise<Reply> {
  const { settings } = ctx.state;
  const { log } = ctx.runtime;
  const result = await runScript({
    path: execPath,
    args: req.args,
    stdin: stdinFor(ctx, req),
    env: ctx.runtime.env,
    stdinTimeoutMs: settings.stdinTimeoutMs,
    maxOutputBytes: entry.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
    ...(entry.timeoutSec !== undefined ? { timeoutMs: entry.timeoutSec * 1000 } : {}),
    signal: ctx.runtime.shutdown,
    onStdinTimeout: (bytes) => log({ action: 'stdin-timeout', bytes, reqid: req.reqid, script: req.script }),
  });
  const body: RunResponse = {
    script: req.script,
    exit: result.exit,
    stdout: result.stdout,
    // Upstream reports a failure to start in stderr.
    stderr: result.stderr !== '' || result.error === undefined ? result.stderr : result.error,
    reqid: req.reqid,
  };
  if (result.truncated) {
    body.truncated = true;
    body.stdout_bytes = result.stdoutBytes;
    body.stderr_bytes = result.stderrBytes;
  }
  if (result.timedOut) body.timed_out = true;
  const event: Record<string, unknown> & { action: string } = {
    action: 'run',
    dispatcher: ctx.dispatcher,
    exit: result.exit,
    peer: ctx.peer.ip,
    reqid: req.reqid,
    script: req.script,
  };
  if (result.timedOut) event.timed_out = true;
  log(event);
  return { status: 200, body };
}

function asyncError(req: RunRequestFields, error: string): Reply {
  return { status: 200, body: { script: req.script, exit: -1, reqid: req.reqid, error } };
}

function startAsync(ctx: RouteContext, req: RunRequestFields, entry: ScriptEntry, execPath: string): Reply {
  const { log } = ctx.runtime;
  const { config, settings } = ctx.state;
  if (!isStorableReqid(req.reqid)) return asyncError(req, 'async run requires a valid reqid');
  const runsDir = config.asyncRunsDir;
  purgeExpired(runsDir);

  // Everything from here to the spawn is synchronous: two submits cannot both get the lock.
  let lockFd: number | undefined;
  try {
    lockFd = tryLockScript(runsDir, req.script);
  } catch (err) {
    log({ action: 'async-store-fail', error: `cannot lock '${req.script}': ${errText(err)}`, reqid: req.reqid });
    return asyncError(req, 'could not start async job');
  }
  if (lockFd === undefined) {
    log({ action: 'run-async-busy', peer: ctx.peer.ip, reqid: req.reqid, script: req.script });
    const busy: AsyncBusy = { script: req.script, status: 'busy', reqid: req.reqid, error: 'script already running' };
    return { status: 409, body: busy };
  }
  try {
    const started = isoUtc();
    const path = recordPath(runsDir, ctx.dispatcher, req.reqid);
    try {
      writeRecord(path, { reqid: req.reqid, status: 'running', script: req.script, owner: ctx.dispatcher, started });
    } catch (err) {
      log({ action: 'async-store-fail', error: errText(err), reqid: req.reqid });
      return asyncError(req, 'could not start async job');
    }
    const spec: AsyncJobSpec = {
      v: JOB_SPEC_VERSION,
      configFile: ctx.runtime.configFile,
      recordPath: path,
      reqid: req.reqid,
      script: req.script,
      owner: ctx.dispatcher,
      started,
      path: execPath,
      args: req.args,
      stdin: stdinFor(ctx, req),
      stdinTimeoutMs: settings.stdinTimeoutMs,
      maxOutputBytes: entry.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
      ...(entry.timeoutSec !== undefined ? { timeoutMs: entry.timeoutSec * 1000 } : {}),
      peer: ctx.peer.ip,
      secrets: req.token === '' ? [] : [req.token],
    };
    try {
      startJobProcess(ctx.runtime.jobEntry, spec, lockFd, ctx.runtime.env);
    } catch (err) {
      log({ action: 'async-store-fail', error: `cannot start job: ${errText(err)}`, reqid: req.reqid });
      try {
        writeRecord(path, {
          reqid: req.reqid,
          status: 'done',
          script: req.script,
          owner: ctx.dispatcher,
          started,
          finished: isoUtc(),
          exit: -1,
          stdout: '',
          stderr: 'could not start async job',
        });
      } catch {
        /* already reported */
      }
      return asyncError(req, 'could not start async job');
    }
  } finally {
    // The job process holds its own copy of the locked descriptor.
    closeSync(lockFd);
  }
  log({ action: 'run-async', dispatcher: ctx.dispatcher, peer: ctx.peer.ip, reqid: req.reqid, script: req.script });
  const accepted: AsyncAccepted = { script: req.script, status: 'accepted', reqid: req.reqid };
  return { status: 202, body: accepted };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
