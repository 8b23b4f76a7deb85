import { UsageError } from '@ctrl-exec/core';
import type { CommandSpec } from '../../cli/command.js';
import type { Dispatcher } from '../../engine/index.js';
import { statusLines } from '../run/render.js';
import { dispatcherFor } from '../run/support.js';
import { refreshRecord, reportNotFound, storeOf } from './aggregate.js';

export const status: CommandSpec = {
  name: 'status',
  summary: 'show the state of a run (async runs: fetch pending hosts first)',
  configure(cmd) {
    cmd.argument('[reqid]', 'request id printed by run --async');
  },
  async run(ctx, args) {
    const reqid = args[0];
    if (!reqid || reqid === '--' || args.length > 1) throw new UsageError('Usage: ctrl-exec status <reqid>');
    let dispatcher: Dispatcher | undefined;
    try {
      const record = await refreshRecord(ctx, storeOf(ctx), reqid, () => (dispatcher ??= dispatcherFor(ctx)));
      if (!record) return reportNotFound(ctx, reqid);
      if (ctx.json) ctx.printJson({ ok: 1, ...record });
      else for (const line of statusLines(record)) ctx.out(line);
      return 0;
    } finally {
      dispatcher?.close();
    }
  },
};
