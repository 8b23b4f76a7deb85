/**
 * Auth hooks (wire-protocol §8): one external program decides whether a request may
 * proceed. It is run with no arguments and no shell, gets the request context as JSON
 * on stdin and as ENVEXEC_* variables, and answers with its exit status.
 *
 * Unlike upstream, a hook killed by a signal, timing out or missing always denies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isoUtc } from '../time.js';

export interface AuthSubmitter {
  username: string;
  source_ip: string;
}

export interface AuthContext {
  /** `run`, `ping`, `api`, `status`, `discovery`, `rotate`. */
  action: string;
  script: string;
  hosts: string[];
  args: string[];
  username: string;
  /** Passed to the hook only; never logged. */
  token: string;
  source_ip: string;
  /** Agent side: the caller's dispatcher id; '' on the dispatcher. */
  dispatcher: string;
  /** Agent side: the raw peer serial; '' on the dispatcher. */
  dispatcher_serial: string;
  /** `status` action only. */
  reqid?: string | null;
  /** `status` action: who submitted the run. */
  submitter: AuthSubmitter | null;
  /** `YYYY-MM-DDTHH:MM:SSZ`; now when omitted. */
  timestamp?: string;
}

export type AuthDecisionKind = 'allow' | 'deny' | 'error' | 'timeout';

export interface AuthDecision {
  allowed: boolean;
  /** 0 when allowed; the hook's exit code, or 1. */
  code: number;
  /** '' when allowed. */
  reason: string;
  kind: AuthDecisionKind;
  /** REASON of the `auth` audit line when it is not `reason` itself. */
  auditReason?: string;
}

export type AuthCaller = 'cli' | 'api' | 'agent';
export type NoHookAuditReason = 'no-hook-cli' | 'no-hook-allow' | 'no-hook-deny' | 'no-hook-agent';

export const DEFAULT_AUTH_HOOK_TIMEOUT_MS = 10_000;

const EXIT_REASONS: Readonly<Record<number, string>> = { 1: 'denied', 2: 'bad credentials', 3: 'insufficient privilege' };

const ALLOW: AuthDecision = Object.freeze({ allowed: true, code: 0, reason: '', kind: 'allow' }) as AuthDecision;

function allow(): AuthDecision {
  return { ...ALLOW };
}

function deny(reason: string, kind: AuthDecisionKind = 'deny', code = 1): AuthDecision {
  return { allowed: false, code, reason, kind };
}

function notExecutable(hook: string): AuthDecision {
  return { ...deny(`auth hook not found or not executable: ${hook}`, 'error'), auditReason: 'hook-not-executable' };
}

/** The stdin document, keys in upstream's order. */
export function authContextJson(ctx: AuthContext, timestamp: string): string {
  return JSON.stringify({
    action: ctx.action ?? '',
    script: ctx.script ?? '',
    hosts: ctx.hosts ?? [],
    args: ctx.args ?? [],
    username: ctx.username ?? '',
    token: ctx.token ?? '',
    source_ip: ctx.source_ip ?? '',
    dispatcher: ctx.dispatcher ?? '',
    dispatcher_serial: ctx.dispatcher_serial ?? '',
    reqid: ctx.reqid ?? null,
    submitter: ctx.submitter ? { username: ctx.submitter.username ?? '', source_ip: ctx.submitter.source_ip ?? '' } : null,
    timestamp,
  });
}

/** The hook's environment: `base` without any ENVEXEC_* it carried, plus this request's. */
export function authHookEnv(ctx: AuthContext, timestamp: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!k.startsWith('ENVEXEC_') && v !== undefined) env[k] = v;
  const args = ctx.args ?? [];
  env.ENVEXEC_ACTION = ctx.action ?? '';
  env.ENVEXEC_SCRIPT = ctx.script ?? '';
  env.ENVEXEC_HOSTS = (ctx.hosts ?? []).join(',');
  env.ENVEXEC_ARGS = args.join(' ');
  env.ENVEXEC_ARGS_JSON = JSON.stringify(args);
  env.ENVEXEC_USERNAME = ctx.username ?? '';
  env.ENVEXEC_TOKEN = ctx.token ?? '';
  env.ENVEXEC_SOURCE_IP = ctx.source_ip ?? '';
  env.ENVEXEC_DISPATCHER = ctx.dispatcher ?? '';
  env.ENVEXEC_DISPATCHER_SERIAL = ctx.dispatcher_serial ?? '';
  env.ENVEXEC_TIMESTAMP = timestamp;
  if (typeof ctx.reqid === 'string') env.ENVEXEC_REQID = ctx.reqid;
  if (ctx.submitter) {
    env.ENVEXEC_SUBMITTER = ctx.submitter.username ?? '';
    env.ENVEXEC_SUBMITTER_IP = ctx.submitter.source_ip ?? '';
  }
  return env;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function formatSeconds(ms: number): string {
  return String(ms / 1000);
}

function decisionForExit(code: number | null, signal: NodeJS.Signals | null): AuthDecision {
  if (signal !== null) return deny(`auth hook killed by signal ${signal}`);
  if (code === 0) return allow();
  const n = code ?? 1;
  return deny(EXIT_REASONS[n] ?? `hook exited ${n}`, 'deny', n);
}

/**
 * Run the hook and turn its exit into a decision. Never throws: every failure is a
 * denial. The hook runs in its own process group, and on timeout the whole group is
 * SIGKILLed, so anything it started goes too.
 */
export function runAuthHook(opts: { hook: string; timeoutMs: number; context: AuthContext; env?: NodeJS.ProcessEnv }): Promise<AuthDecision> {
  return runAuthHookInner(opts).catch((err: unknown) => startFailure(opts.hook, err));
}

async function runAuthHookInner(opts: { hook: string; timeoutMs: number; context: AuthContext; env?: NodeJS.ProcessEnv }): Promise<AuthDecision> {
  const { hook, context } = opts;
  const timeoutMs = Number.isFinite(opts.timeoutMs) && opts.timeoutMs > 0 ? opts.timeoutMs : DEFAULT_AUTH_HOOK_TIMEOUT_MS;
  if (typeof hook !== 'string' || hook === '' || hook.includes('\0') || !(await isExecutableFile(hook))) return notExecutable(String(hook));

  const timestamp = context.timestamp ?? isoUtc();
  const input = authContextJson(context, timestamp);
  const env = authHookEnv(context, timestamp, opts.env ?? process.env);
  for (const [k, v] of Object.entries(env)) {
    // The environment cannot carry a NUL byte; refuse rather than hand the hook a truncated value.
    if (k.includes('\0') || v?.includes('\0')) return deny('auth context contains a NUL byte', 'error');
  }

  return new Promise<AuthDecision>((resolve) => {
    let settled = false;
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    let child: ChildProcess;
    const finish = (d: AuthDecision) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      // Whatever the hook left holding the pipe, nothing more is written to it.
      child?.stdin?.destroy();
      resolve(d);
    };

    try {
      child = spawn(hook, [], { stdio: ['pipe', 'ignore', 'ignore'], env, detached: true, shell: false, windowsHide: true });
    } catch (err) {
      finish(startFailure(hook, err));
      return;
    }

    child.on('error', (err) => finish(startFailure(hook, err)));
    child.on('exit', (code, signal) => {
      if (timedOut) finish(deny(`auth hook timed out after ${formatSeconds(timeoutMs)}s`, 'timeout'));
      else finish(decisionForExit(code, signal));
    });

    // A hook need not read its stdin: a closed pipe (EPIPE) is not an error here.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);

    timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, timeoutMs);
  });
}

/** SIGKILL the hook's whole process group (it leads its own: spawned detached). */
function killGroup(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

function startFailure(hook: string, err: unknown): AuthDecision {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ENOEXEC') return notExecutable(hook);
  if (code === 'E2BIG') return deny('auth hook context too large (E2BIG)', 'error');
  return deny(`auth hook failed to start: ${code ?? String(err)}`, 'error');
}

/** The decision when no hook is configured (wire-protocol §8). */
export function decideWithoutHook(
  caller: AuthCaller,
  apiAuthDefault: 'allow' | 'deny',
): AuthDecision & { auditReason: NoHookAuditReason } {
  if (caller === 'cli') return { ...allow(), auditReason: 'no-hook-cli' };
  if (caller === 'agent') return { ...allow(), auditReason: 'no-hook-agent' };
  if (apiAuthDefault === 'allow') return { ...allow(), auditReason: 'no-hook-allow' };
  return { ...deny('no auth hook configured'), auditReason: 'no-hook-deny' };
}

export interface AuthAuditEvent {
  action: 'auth';
  authaction: string;
  ip: string;
  result: 'pass' | 'deny' | 'error';
  user: string;
  reason?: string;
  hook?: string;
  dispatcher?: string;
  level: 'info' | 'warning' | 'err';
}

/**
 * The `ACTION=auth` audit event for a decision (wire-protocol §10.3). DISPATCHER appears
 * on the no-hook variants, HOOK on the error variant. The token is never included.
 */
export function authAuditEvent(decision: AuthDecision, ctx: AuthContext, extra: { hook?: string } = {}): AuthAuditEvent {
  const result: AuthAuditEvent['result'] = decision.allowed ? 'pass' : decision.kind === 'error' ? 'error' : 'deny';
  const event: AuthAuditEvent = {
    action: 'auth',
    authaction: ctx.action ?? '',
    ip: ctx.source_ip ?? '',
    result,
    user: ctx.username || '(none)',
    level: result === 'pass' ? 'info' : result === 'deny' ? 'warning' : 'err',
  };
  const reason = decision.auditReason ?? (decision.allowed ? '' : decision.reason);
  if (reason) event.reason = reason;
  if (decision.auditReason?.startsWith('no-hook-')) event.dispatcher = ctx.dispatcher ?? '';
  if (result === 'error' && extra.hook !== undefined) event.hook = extra.hook;
  return event;
}

/** The `ACTION=auth-hook-timeout` audit event (TIMEOUT in seconds). */
export function authHookTimeoutEvent(timeoutMs: number): { action: 'auth-hook-timeout'; timeout: number; level: 'warning' } {
  return { action: 'auth-hook-timeout', timeout: timeoutMs / 1000, level: 'warning' };
}

/** Run the configured hook, or apply the no-hook rule for this caller. Never throws. */
export async function authorize(opts: {
  hook?: string;
  timeoutMs: number;
  caller: AuthCaller;
  apiAuthDefault: 'allow' | 'deny';
  context: AuthContext;
  env?: NodeJS.ProcessEnv;
}): Promise<AuthDecision> {
  if (opts.hook === undefined || opts.hook === '') return decideWithoutHook(opts.caller, opts.apiAuthDefault);
  return runAuthHook({ hook: opts.hook, timeoutMs: opts.timeoutMs, context: opts.context, ...(opts.env ? { env: opts.env } : {}) });
}
