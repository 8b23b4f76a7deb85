import { existsSync, readFileSync, unlinkSync, openSync, closeSync, mkdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { Option } from 'commander';
import { dirname, join } from 'node:path';
import type { CommandSpec } from '../../cli/command.js';
import type { Context } from '../../cli/context.js';
import { pairingQueueOf, registryOf } from '../../cli/state.js';
import { PairingServer } from '../../pairing/server.js';
import { PairingPrompt } from '../../pairing/interactive.js';
import { approveRequest, approvalMessage, denyRequest } from '../../pairing/decide.js';
import { CtrlExecError, RateLimiter, UsageError, parseRateSpec, writeFileAtomicSync, type DispatcherConfig } from '@ctrl-exec/core';

const USAGE = 'Usage: ctrl-exec pairing-mode [start|stop] [--timeout <1-600>]';
export const DEFAULT_PAIRING_PORT = 7444;

function parseTimeout(raw: unknown, config: DispatcherConfig): number {
  const value = raw === undefined ? String(config.pairingTimeout) : String(raw);
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 600) throw new UsageError('Error: --timeout must be between 1 and 600 seconds.');
  return n;
}

function parsePort(raw: unknown, config: DispatcherConfig): number {
  if (raw === undefined) return config.pairingPort ?? DEFAULT_PAIRING_PORT;
  const text = String(raw);
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n > 65535) throw new UsageError('Error: --port must be a port number (0-65535).');
  return n;
}

function requireDispatcherCert(config: DispatcherConfig): { certPem: string; keyPem: string } {
  if (!existsSync(config.cert) || !existsSync(config.key)) {
    throw new CtrlExecError(
      'CE_ERR_CERT_MISSING',
      `Cannot start pairing mode: the dispatcher certificate is missing (${existsSync(config.cert) ? config.key : config.cert}). Run 'ctrl-exec setup-ctrl-exec' first.`,
    );
  }
  return { certPem: readFileSync(config.cert, 'utf8'), keyPem: readFileSync(config.key, 'utf8') };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Serve pairing requests until the timeout, a signal, or `quit` at the prompt. */
async function serve(ctx: Context, opts: { timeout: number; port: number; bind: string; daemon: boolean }): Promise<number> {
  const config = ctx.config();
  const { certPem, keyPem } = requireDispatcherCert(config);
  const queue = pairingQueueOf(config);
  const registry = registryOf(config);
  queue.ensureDir();
  queue.expireStale();
  const audit = (e: Parameters<Context['log']>[0]) => ctx.log(e);

  const volume = parseRateSpec(config.pairingRateLimitVolume, { limit: 10, window: 60, block: 300 });
  if (volume.warning) audit({ action: 'config-warn', key: 'pairing_rate_limit_volume', msg: volume.warning });
  const rateLimiter = new RateLimiter({
    volume: volume.spec,
    probe: { limit: 0, window: 0, block: 0 },
    disabled: config.pairingRateLimitDisable === true,
    onEvent: (e) => audit(e.action === 'rate-block' ? { action: 'rate-block', peer: e.peer, reason: e.reason } : { action: 'rate-evict', count: e.count }),
  });

  const interactive = !opts.daemon && ctx.io.stdin.isTTY === true;
  let prompt: PairingPrompt | undefined;
  let stop!: (reason: 'timeout' | 'signal' | 'quit') => void;
  const stopped = new Promise<'timeout' | 'signal' | 'quit'>((resolve) => (stop = resolve));

  const server = new PairingServer({
    certPem,
    keyPem,
    queue,
    host: opts.bind,
    port: opts.port,
    maxQueue: config.pairingMaxQueue,
    rateLimiter,
    audit,
    onRequest: (req) => {
      if (prompt) {
        ctx.out('');
        prompt.show();
      } else {
        ctx.out(`Pairing request ${req.id} from '${req.hostname}' (${req.ip}), code ${req.code}.`);
        ctx.out(`  approve: ctrl-exec approve ${req.id}    deny: ctrl-exec deny ${req.id}`);
      }
    },
    onSettled: (id, outcome) => {
      if (!prompt && outcome !== 'abandoned') ctx.out(`Request ${id}: ${outcome === 'approved' ? 'approved, certificate delivered' : outcome}.`);
      if (!prompt && outcome === 'abandoned') ctx.out(`Request ${id}: the agent disconnected before a decision; request removed.`);
    },
  });
  const addr = await server.listen();
  audit({ action: 'pairing-mode-start', port: addr.port });
  ctx.out(`Pairing mode active on port ${addr.port} (auto-stops in ${opts.timeout}s). Waiting for agents; press Ctrl-C to stop.`);

  if (opts.daemon) writeFileAtomicSync(config.paths.pairingPidFile, `${process.pid}\n`, { mode: 0o644, mkdirParent: true });

  if (interactive) {
    prompt = new PairingPrompt(ctx.io.stdin, ctx.io.stdout, {
      pending: () => queue.pending(),
      approve: (id) => approvalMessage(approveRequest({ config, queue, registry, id, audit })),
      deny: (id) => {
        const r = denyRequest({ queue, id, audit });
        return [`Denied request '${r.id}'.`];
      },
      quit: () => stop('quit'),
    });
    if (queue.pending().length > 0) prompt.show();
  }

  const timer = setTimeout(() => stop('timeout'), opts.timeout * 1000);
  const onSignal = () => stop('signal');
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const reason = await stopped;
  clearTimeout(timer);
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  prompt?.close();
  await server.close();
  if (opts.daemon && readPid(config.paths.pairingPidFile) === process.pid) {
    try {
      unlinkSync(config.paths.pairingPidFile);
    } catch {
      /* already gone */
    }
  }
  if (reason === 'timeout') {
    audit({ action: 'pairing-mode-timeout', port: addr.port });
    ctx.out(`Pairing mode timed out after ${opts.timeout}s. Stopped.`);
  } else {
    audit({ action: 'pairing-mode-stop' });
    ctx.out('Pairing mode stopped.');
  }
  return 0;
}

async function startBackground(ctx: Context, opts: { timeout: number; port: number; bind: string }): Promise<number> {
  const config = ctx.config();
  requireDispatcherCert(config);
  const pidFile = config.paths.pairingPidFile;
  const existing = readPid(pidFile);
  if (existing !== undefined && isAlive(existing)) {
    ctx.out(`Pairing mode is already running in the background (PID ${existing}).`);
    return 1;
  }
  if (existing !== undefined) unlinkSync(pidFile);
  mkdirSync(dirname(pidFile), { recursive: true, mode: 0o750 });
  const logPath = join(dirname(pidFile), 'pairing-mode.log');
  const logFd = openSync(logPath, 'w', 0o640);
  const args = [ctx.io.self.script, 'pairing-mode', '--daemon-child', '--timeout', String(opts.timeout), '--port', String(opts.port), '--bind', opts.bind];
  if (ctx.global.config) args.push('--config', ctx.global.config);
  const child = spawn(ctx.io.self.execPath, args, { detached: true, stdio: ['ignore', logFd, logFd], env: ctx.io.env });
  closeSync(logFd);
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  child.unref();
  const pid = child.pid ?? 0;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (readPid(pidFile) === pid) {
      ctx.log({ action: 'pairing-mode-start', pid, timeout: opts.timeout });
      ctx.out(`Pairing mode started in the background on port ${opts.port} (PID ${pid}).`);
      ctx.out(`It stops by itself after ${opts.timeout}s, or with: ctrl-exec pairing-mode stop`);
      return 0;
    }
    if (exited !== undefined) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  let detail = '';
  try {
    detail = readFileSync(logPath, 'utf8').trim().split('\n').slice(-3).join(' ');
  } catch {
    /* no log */
  }
  if (exited === undefined) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  throw new CtrlExecError('CE_ERR_INTERNAL', `Pairing mode did not start${detail ? `: ${detail}` : ` (see ${logPath})`}`);
}

async function stopBackground(ctx: Context): Promise<number> {
  const pidFile = ctx.config().paths.pairingPidFile;
  const pid = readPid(pidFile);
  if (pid === undefined || !isAlive(pid)) {
    if (pid !== undefined) unlinkSync(pidFile);
    ctx.out('No background pairing mode is running.');
    return 0;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) throw new CtrlExecError('CE_ERR_INTERNAL', `Pairing mode (PID ${pid}) did not stop within 10s`);
  if (existsSync(pidFile) && readPid(pidFile) === pid) unlinkSync(pidFile);
  ctx.log({ action: 'pairing-mode-stop', pid });
  ctx.out(`Pairing mode stopped (was PID ${pid}); pairing port closed.`);
  return 0;
}

export const pairingMode: CommandSpec = {
  name: 'pairing-mode',
  summary: 'accept pairing requests from agents on port 7444 (interactive, or start|stop in the background)',
  configure(cmd) {
    cmd
      .argument('[action]', 'start (background) or stop; omit to run in the foreground')
      .option('--timeout <seconds>', 'stop by itself after this many seconds (1-600, default pairing_timeout or 600)')
      .option('--port <port>', 'pairing port (default pairing_port or 7444)')
      .option('--bind <address>', 'address to listen on', '0.0.0.0')
      .addOption(new Option('--daemon-child', 'internal: the background listener process').hideHelp());
  },
  async run(ctx, args, opts) {
    const action = args[0];
    if (action !== undefined && action !== 'start' && action !== 'stop') throw new UsageError(USAGE);
    if (action === 'stop') return stopBackground(ctx);
    const config = ctx.config();
    const timeout = parseTimeout(opts.timeout, config);
    const port = parsePort(opts.port, config);
    const bind = String(opts.bind ?? '0.0.0.0');
    if (action === 'start') return startBackground(ctx, { timeout, port, bind });
    return serve(ctx, { timeout, port, bind, daemon: opts.daemonChild === true });
  },
};
