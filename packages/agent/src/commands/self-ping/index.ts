import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { Command } from 'commander';
import { TLS_POLICY, type AgentConfig } from '@ctrl-exec/core';
import type { CommandSpec } from '../../cli/command.js';
import type { Context } from '../../cli/context.js';
import { pairingState } from '../../pairing/status.js';

export const SELF_PING_TIMEOUT_MS = 10_000;

export type SelfPingOutcome =
  | { kind: 'response'; status: number; body: Record<string, unknown> | undefined }
  | { kind: 'refused' }
  | { kind: 'error'; reason: string };

/** Where the agent can be reached from this host: loopback, unless it listens on one address only. */
export function selfPingHost(config: Pick<AgentConfig, 'bind'>): string {
  return config.bind === '0.0.0.0' || config.bind === '::' || config.bind === '' ? '127.0.0.1' : config.bind;
}

/** POST /ping to our own listener with our own certificate. */
export function selfPing(config: AgentConfig, timeoutMs = SELF_PING_TIMEOUT_MS): Promise<SelfPingOutcome> {
  const payload = Buffer.from(JSON.stringify({ reqid: randomBytes(4).toString('hex') }), 'utf8');
  return new Promise((resolve) => {
    let settled = false;
    const done = (o: SelfPingOutcome) => {
      if (settled) return;
      settled = true;
      resolve(o);
    };
    let req: ReturnType<typeof https.request>;
    try {
      req = https.request({
        host: selfPingHost(config),
        port: config.port,
        method: 'POST',
        path: '/ping',
        cert: readFileSync(config.cert),
        key: readFileSync(config.key),
        ca: readFileSync(config.ca),
        ...TLS_POLICY,
        rejectUnauthorized: true,
        checkServerIdentity: () => undefined,
        agent: false,
        timeout: timeoutMs,
        headers: { 'Content-Type': 'application/json', 'Content-Length': payload.length, Connection: 'close' },
      });
    } catch (err) {
      done({ kind: 'error', reason: (err as Error).message });
      return;
    }
    req.on('timeout', () => {
      req.destroy(new Error(`no answer within ${timeoutMs / 1000}s`));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') done({ kind: 'refused' });
      else if (err.code === 'ECONNRESET' || err.message === 'socket hang up') {
        done({ kind: 'error', reason: 'connection closed without an answer (allowed_ips, rate limit or TLS trust?)' });
      } else done({ kind: 'error', reason: err.code ?? err.message });
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => done({ kind: 'error', reason: err.message }));
      res.on('end', () => {
        let body: Record<string, unknown> | undefined;
        try {
          const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (v !== null && typeof v === 'object' && !Array.isArray(v)) body = v as Record<string, unknown>;
        } catch {
          body = undefined;
        }
        done({ kind: 'response', status: res.statusCode ?? 0, body });
      });
    });
    req.end(payload);
  });
}

/** Feature 70. */
export const selfPingCommand: CommandSpec = {
  name: 'self-ping',
  summary: 'check that the running agent answers on its port and enforces its trusted-dispatcher map',
  configure(_cmd: Command) {},
  async run(ctx: Context): Promise<number> {
    let config: AgentConfig;
    try {
      config = ctx.config();
    } catch (err) {
      ctx.err((err as Error).message);
      return 1;
    }
    const state = pairingState(config);
    if (!state.paired) {
      ctx.err(`Not paired: ${state.reason}`);
      return 1;
    }
    const outcome = await selfPing(config);
    if (outcome.kind === 'refused') {
      ctx.out(`Port ${config.port}: not listening - is the agent running?`);
      return 1;
    }
    if (outcome.kind === 'error') {
      ctx.out(`Ping failed: ${outcome.reason}`);
      return 1;
    }
    const { status, body } = outcome;
    if (status === 403 && body?.error === 'serial mismatch') {
      ctx.out('Ping response: 403 serial mismatch (expected - agent is running and enforcing policy)');
      return 0;
    }
    if (status === 200 && body?.status === 'ok') {
      ctx.out(`Ping response: 200 OK (host ${String(body.host)}, version ${String(body.version)})`);
      return 0;
    }
    const what = typeof body?.error === 'string' ? body.error : JSON.stringify(body ?? null);
    ctx.out(`Ping response: ${status} ${what}`);
    return 1;
  },
};
