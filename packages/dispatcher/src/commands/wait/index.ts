import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError } from '@ctrl-exec/core';
import type { CommandSpec } from '../../cli/command.js';
import type { Dispatcher } from '../../engine/index.js';
import { statusLines } from '../run/render.js';
import { dispatcherFor } from '../run/support.js';
import { recordFailed, refreshRecord, reportNotFound, storeOf } from '../status/aggregate.js';

export const DEFAULT_WAIT_SECONDS = 300;
export const POLL_INTERVAL_MS = 2000;
const MAX_WAIT_SECONDS = 31 * 86_400;

function parseTimeout(v: unknown): number {
  if (v === undefined) return DEFAULT_WAIT_SECONDS;
  const s = String(v);
  const n = /^\d{1,8}$/.test(s) ? Number(s) : NaN;
  if (!Number.isInteger(n) || n > MAX_WAIT_SECONDS) throw new UsageError(`--timeout must be a number of seconds (0-${MAX_WAIT_SECONDS})`);
  return n;
}

export const wait: CommandSpec = {
  name: 'wait',
  summary: 'poll an async run until it completes (exit 0 all ok, 1 failures, 2 timed out)',
  configure(cmd) {
    cmd.argument('[reqid]', 'request id printed by run --async').option('--timeout <seconds>', `give up after this long (default ${DEFAULT_WAIT_SECONDS})`);
  },
  async run(ctx, args, opts) {
    const reqid = args[0];
    if (!reqid || reqid === '--' || args.length > 1) throw new UsageError('Usage: ctrl-exec wait <reqid> [--timeout <seconds>]');
    const timeout = parseTimeout(opts.timeout);
    const deadline = Date.now() + timeout * 1000;
    const store = storeOf(ctx);
    // One engine, so one keep-alive pool, for every poll: the agent sees one connection.
    let dispatcher: Dispatcher | undefined;
    const engine = () => (dispatcher ??= dispatcherFor(ctx));
    try {
      let record = await refreshRecord(ctx, store, reqid, engine);
      if (!record) return reportNotFound(ctx, reqid);
      while (!record.complete && Date.now() < deadline) {
        await sleep(Math.min(POLL_INTERVAL_MS, Math.max(0, deadline - Date.now())));
        record = await refreshRecord(ctx, store, reqid, engine);
        if (!record) return reportNotFound(ctx, reqid);
      }
      if (ctx.json) ctx.printJson({ ok: 1, ...record });
      else for (const line of statusLines(record)) ctx.out(line);
      if (!record.complete) return 2;
      return recordFailed(record) ? 1 : 0;
    } finally {
      dispatcher?.close();
    }
  },
};
