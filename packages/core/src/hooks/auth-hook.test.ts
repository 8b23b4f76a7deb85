import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  runAuthHook,
  decideWithoutHook,
  authAuditEvent,
  authHookTimeoutEvent,
  authorize,
  type AuthContext,
  type AuthDecision,
} from './auth-hook.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ce-hook-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function hook(dir: string, name: string, body: string, mode = 0o755): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode });
  return path;
}

function context(extra: Partial<AuthContext> = {}): AuthContext {
  return {
    action: 'run',
    script: 'backup',
    hosts: ['web-01', 'db-01'],
    args: ['--full', 'two words', 'quote"and\\back', ''],
    username: 'alice',
    token: 's3cret-token',
    source_ip: '127.0.0.1',
    dispatcher: 'dispatcher01',
    dispatcher_serial: '4f3c2a1b',
    submitter: null,
    timestamp: '2026-01-02T03:04:05Z',
    ...extra,
  };
}

const DENY_NOT_EXEC = (path: string): Partial<AuthDecision> => ({
  allowed: false,
  code: 1,
  kind: 'error',
  reason: `auth hook not found or not executable: ${path}`,
});

function readEnv(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of readFileSync(path, 'utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

test('the hook gets exactly the documented stdin JSON and environment, and no arguments', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  mkdirSync(out);
  const h = hook(dir, 'dump', `cat > '${out}/stdin.json'\nenv -0 > '${out}/env'\necho "$#" > '${out}/argc'\nexit 0`);
  const ctx = context({
    action: 'status',
    reqid: '0123456789abcdef',
    submitter: { username: 'bob', source_ip: '127.0.0.9' },
  });
  const decision = await runAuthHook({
    hook: h,
    timeoutMs: 5000,
    context: ctx,
    env: { ...process.env, CE_TEST_INHERITED: 'kept', ENVEXEC_STALE: 'dropped', ENVEXEC_REQID: 'stale' },
  });
  assert.deepEqual(decision, { allowed: true, code: 0, reason: '', kind: 'allow' });

  assert.equal(readFileSync(join(out, 'argc'), 'utf8').trim(), '0');
  const stdinText = readFileSync(join(out, 'stdin.json'), 'utf8');
  const stdin = JSON.parse(stdinText);
  assert.deepEqual(Object.keys(stdin), [
    'action', 'script', 'hosts', 'args', 'username', 'token', 'source_ip', 'dispatcher', 'dispatcher_serial', 'reqid', 'submitter', 'timestamp',
  ]);
  assert.deepEqual(stdin, {
    action: 'status',
    script: 'backup',
    hosts: ['web-01', 'db-01'],
    args: ['--full', 'two words', 'quote"and\\back', ''],
    username: 'alice',
    token: 's3cret-token',
    source_ip: '127.0.0.1',
    dispatcher: 'dispatcher01',
    dispatcher_serial: '4f3c2a1b',
    reqid: '0123456789abcdef',
    submitter: { username: 'bob', source_ip: '127.0.0.9' },
    timestamp: '2026-01-02T03:04:05Z',
  });

  const env = readEnv(join(out, 'env'));
  assert.equal(env.CE_TEST_INHERITED, 'kept');
  assert.equal(env.ENVEXEC_STALE, undefined);
  const mine = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('ENVEXEC_')));
  assert.deepEqual(mine, {
    ENVEXEC_ACTION: 'status',
    ENVEXEC_SCRIPT: 'backup',
    ENVEXEC_HOSTS: 'web-01,db-01',
    ENVEXEC_ARGS: '--full two words quote"and\\back ',
    ENVEXEC_ARGS_JSON: '["--full","two words","quote\\"and\\\\back",""]',
    ENVEXEC_USERNAME: 'alice',
    ENVEXEC_TOKEN: 's3cret-token',
    ENVEXEC_SOURCE_IP: '127.0.0.1',
    ENVEXEC_DISPATCHER: 'dispatcher01',
    ENVEXEC_DISPATCHER_SERIAL: '4f3c2a1b',
    ENVEXEC_TIMESTAMP: '2026-01-02T03:04:05Z',
    ENVEXEC_REQID: '0123456789abcdef',
    ENVEXEC_SUBMITTER: 'bob',
    ENVEXEC_SUBMITTER_IP: '127.0.0.9',
  });
  assert.deepEqual(JSON.parse(mine.ENVEXEC_ARGS_JSON!), ['--full', 'two words', 'quote"and\\back', '']);
});

test('without reqid/submitter/timestamp: those variables are absent, reqid null, timestamp now', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  mkdirSync(out);
  const h = hook(dir, 'dump', `cat > '${out}/stdin.json'\nenv -0 > '${out}/env'`);
  const ctx = context({ action: 'ping', script: '', hosts: [], args: [], dispatcher: '', dispatcher_serial: '' });
  delete ctx.timestamp;
  const decision = await runAuthHook({ hook: h, timeoutMs: 5000, context: ctx });
  assert.equal(decision.allowed, true);
  const stdin = JSON.parse(readFileSync(join(out, 'stdin.json'), 'utf8'));
  assert.equal(stdin.reqid, null);
  assert.equal(stdin.submitter, null);
  assert.match(stdin.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  const env = readEnv(join(out, 'env'));
  assert.equal(env.ENVEXEC_TIMESTAMP, stdin.timestamp);
  assert.equal('ENVEXEC_REQID' in env, false);
  assert.equal('ENVEXEC_SUBMITTER' in env, false);
  assert.equal('ENVEXEC_SUBMITTER_IP' in env, false);
  assert.equal(env.ENVEXEC_HOSTS, '');
  assert.equal(env.ENVEXEC_ARGS, '');
  assert.equal(env.ENVEXEC_ARGS_JSON, '[]');
  assert.equal(env.ENVEXEC_SCRIPT, '');
});

test('exit codes map to decisions', async (t) => {
  const dir = tempDir(t);
  const cases: Array<[number, AuthDecision]> = [
    [0, { allowed: true, code: 0, reason: '', kind: 'allow' }],
    [1, { allowed: false, code: 1, reason: 'denied', kind: 'deny' }],
    [2, { allowed: false, code: 2, reason: 'bad credentials', kind: 'deny' }],
    [3, { allowed: false, code: 3, reason: 'insufficient privilege', kind: 'deny' }],
    [7, { allowed: false, code: 7, reason: 'hook exited 7', kind: 'deny' }],
    [255, { allowed: false, code: 255, reason: 'hook exited 255', kind: 'deny' }],
  ];
  for (const [code, expected] of cases) {
    const h = hook(dir, `exit${code}`, `exit ${code}`);
    assert.deepEqual(await runAuthHook({ hook: h, timeoutMs: 5000, context: context() }), expected, `exit ${code}`);
  }
});

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  // A zombie awaiting its reaper is dead too.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (gone(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return gone(pid);
}

test('a hook that outlives its timeout is killed with its whole process group and denies', async (t) => {
  const dir = tempDir(t);
  const h = hook(dir, 'slow', `echo $$ > '${dir}/hook.pid'\nsleep 30 &\necho $! > '${dir}/child.pid'\nwait`);
  const started = Date.now();
  const decision = await runAuthHook({ hook: h, timeoutMs: 300, context: context() });
  const elapsed = Date.now() - started;
  assert.deepEqual(decision, { allowed: false, code: 1, reason: 'auth hook timed out after 0.3s', kind: 'timeout' });
  assert.ok(elapsed >= 250 && elapsed < 5000, `took ${elapsed} ms`);
  const hookPid = Number(readFileSync(join(dir, 'hook.pid'), 'utf8'));
  const childPid = Number(readFileSync(join(dir, 'child.pid'), 'utf8'));
  assert.ok(hookPid > 1 && childPid > 1);
  assert.equal(await waitGone(hookPid, 2000), true, 'hook process gone');
  assert.equal(await waitGone(childPid, 2000), true, 'background child of the hook gone');
});

test('a hook killed by a signal denies (upstream allowed it)', async (t) => {
  const dir = tempDir(t);
  const kill9 = hook(dir, 'kill9', 'kill -KILL $$');
  const term = hook(dir, 'term', 'kill -TERM $$\nsleep 5\nexit 0');
  assert.deepEqual(await runAuthHook({ hook: kill9, timeoutMs: 5000, context: context() }), {
    allowed: false,
    code: 1,
    reason: 'auth hook killed by signal SIGKILL',
    kind: 'deny',
  });
  assert.deepEqual(await runAuthHook({ hook: term, timeoutMs: 5000, context: context() }), {
    allowed: false,
    code: 1,
    reason: 'auth hook killed by signal SIGTERM',
    kind: 'deny',
  });
});

test('missing, non-executable or directory hooks deny with an error', async (t) => {
  const dir = tempDir(t);
  const missing = join(dir, 'missing');
  const plain = hook(dir, 'plain', 'exit 0', 0o644);
  const sub = join(dir, 'a-dir');
  mkdirSync(sub, { mode: 0o755 });
  for (const path of [missing, plain, sub, '', `${plain}/below`]) {
    const d = await runAuthHook({ hook: path, timeoutMs: 5000, context: context() });
    assert.deepEqual({ ...d, auditReason: undefined }, { ...DENY_NOT_EXEC(path), auditReason: undefined }, path);
    assert.equal(d.auditReason, 'hook-not-executable');
  }
});

test('a hook that does not read a large stdin still decides; no crash on EPIPE', async (t) => {
  const dir = tempDir(t);
  const h = hook(dir, 'noread', 'exit 0');
  // ~100 KB of args: each environment string stays under the kernel's 128 KiB limit,
  // while stdin (~200 KB) far exceeds a pipe buffer.
  const args = Array.from({ length: 100 }, (_, i) => `${i}:${'x'.repeat(1000)}`);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await runAuthHook({ hook: h, timeoutMs: 5000, context: context({ args }) }), {
      allowed: true,
      code: 0,
      reason: '',
      kind: 'allow',
    });
  }
  const deny = hook(dir, 'noread-deny', 'exit 2');
  assert.equal((await runAuthHook({ hook: deny, timeoutMs: 5000, context: context({ args }) })).reason, 'bad credentials');
});

test('a context too large for the environment (1 MB of args) denies, never throws', async (t) => {
  const dir = tempDir(t);
  const h = hook(dir, 'noread', 'exit 0');
  const args = Array.from({ length: 1024 }, () => 'y'.repeat(1024));
  const d = await runAuthHook({ hook: h, timeoutMs: 5000, context: context({ args }) });
  assert.equal(d.allowed, false);
  assert.equal(d.kind, 'error');
  assert.equal(d.code, 1);
  assert.match(d.reason, /E2BIG/);
});

test('hostile context values: NUL bytes deny; newlines and quotes pass intact', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  mkdirSync(out);
  const h = hook(dir, 'dump', `cat > '${out}/stdin.json'\nenv -0 > '${out}/env'`);
  const nul = await runAuthHook({ hook: h, timeoutMs: 5000, context: context({ args: ['a\0b'] }) });
  assert.equal(nul.allowed, false);
  assert.equal(nul.kind, 'error');
  assert.equal(existsSync(join(out, 'stdin.json')), false, 'hook not run');
  const odd = ['line1\nline2', "it's", '$(id)', '`id`', '; rm -rf /', 'ünïcødé'];
  const ok = await runAuthHook({ hook: h, timeoutMs: 5000, context: context({ args: odd, username: 'x\ny' }) });
  assert.equal(ok.allowed, true);
  const env = readEnv(join(out, 'env'));
  assert.deepEqual(JSON.parse(env.ENVEXEC_ARGS_JSON!), odd);
  assert.equal(env.ENVEXEC_USERNAME, 'x\ny');
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'stdin.json'), 'utf8')).args, odd);
});

test('decideWithoutHook: CLI and agent allow, API follows api_auth_default', () => {
  assert.deepEqual(decideWithoutHook('cli', 'deny'), { allowed: true, code: 0, reason: '', kind: 'allow', auditReason: 'no-hook-cli' });
  assert.deepEqual(decideWithoutHook('agent', 'deny'), { allowed: true, code: 0, reason: '', kind: 'allow', auditReason: 'no-hook-agent' });
  assert.deepEqual(decideWithoutHook('api', 'allow'), { allowed: true, code: 0, reason: '', kind: 'allow', auditReason: 'no-hook-allow' });
  assert.deepEqual(decideWithoutHook('api', 'deny'), {
    allowed: false,
    code: 1,
    reason: 'no auth hook configured',
    kind: 'deny',
    auditReason: 'no-hook-deny',
  });
});

test('authorize runs the hook when configured, else the no-hook rule', async (t) => {
  const dir = tempDir(t);
  const deny3 = hook(dir, 'deny3', 'exit 3');
  assert.equal((await authorize({ hook: deny3, timeoutMs: 5000, caller: 'cli', apiAuthDefault: 'allow', context: context() })).reason, 'insufficient privilege');
  assert.equal((await authorize({ timeoutMs: 5000, caller: 'cli', apiAuthDefault: 'deny', context: context() })).allowed, true);
  assert.equal((await authorize({ hook: '', timeoutMs: 5000, caller: 'api', apiAuthDefault: 'deny', context: context() })).allowed, false);
  const missing = await authorize({ hook: join(dir, 'nope'), timeoutMs: 5000, caller: 'agent', apiAuthDefault: 'allow', context: context() });
  assert.equal(missing.kind, 'error');
  assert.equal(missing.allowed, false);
});

test('auth audit events: result, level, reason, never the token', () => {
  const ctx = context({ action: 'api', username: '' });
  const pass = authAuditEvent({ allowed: true, code: 0, reason: '', kind: 'allow' }, ctx, { hook: '/etc/ctrl-exec/auth-hook' });
  assert.deepEqual(pass, { action: 'auth', authaction: 'api', ip: '127.0.0.1', result: 'pass', user: '(none)', level: 'info' });

  const denied = authAuditEvent({ allowed: false, code: 2, reason: 'bad credentials', kind: 'deny' }, context(), { hook: '/h' });
  assert.deepEqual(denied, { action: 'auth', authaction: 'run', ip: '127.0.0.1', result: 'deny', user: 'alice', reason: 'bad credentials', level: 'warning' });

  const timeout = authAuditEvent({ allowed: false, code: 1, reason: 'auth hook timed out after 10s', kind: 'timeout' }, context());
  assert.equal(timeout.result, 'deny');
  assert.equal(timeout.reason, 'auth hook timed out after 10s');

  const error = authAuditEvent(
    { allowed: false, code: 1, reason: 'auth hook not found or not executable: /h', kind: 'error', auditReason: 'hook-not-executable' },
    context(),
    { hook: '/h' },
  );
  assert.deepEqual(error, { action: 'auth', authaction: 'run', ip: '127.0.0.1', result: 'error', user: 'alice', reason: 'hook-not-executable', hook: '/h', level: 'err' });

  const noHookDeny = authAuditEvent(decideWithoutHook('api', 'deny'), context({ dispatcher: '' }));
  assert.deepEqual(noHookDeny, { action: 'auth', authaction: 'run', ip: '127.0.0.1', result: 'deny', user: 'alice', reason: 'no-hook-deny', dispatcher: '', level: 'warning' });
  const noHookCli = authAuditEvent(decideWithoutHook('cli', 'deny'), context());
  assert.deepEqual(noHookCli, { action: 'auth', authaction: 'run', ip: '127.0.0.1', result: 'pass', user: 'alice', reason: 'no-hook-cli', dispatcher: 'dispatcher01', level: 'info' });

  for (const e of [pass, denied, timeout, error, noHookDeny, noHookCli]) {
    assert.equal(JSON.stringify(e).includes('s3cret-token'), false);
    assert.equal('token' in e, false);
  }
  assert.deepEqual(authHookTimeoutEvent(10_000), { action: 'auth-hook-timeout', timeout: 10, level: 'warning' });
});
