import { UsageError } from '@ctrl-exec/core';
import type { CommandSpec } from '../../cli/command.js';
import { cancelRun } from '../../engine/index.js';
import { credentials, dispatcherFor } from '../run/support.js';
import { reportNotFound, storeOf } from '../status/aggregate.js';

/**
 * Stop an async run (or scan job) on every host still running it (ours; DESIGN §3 item 7):
 * `POST /cancel` to each agent, which stops the script's whole process group and records the
 * run as cancelled. `status`/`wait`/`scan-status` then see it finish.
 */
export const cancelCommand: CommandSpec = {
  name: 'cancel',
  summary: 'stop an async run or scan job on the hosts still running it',
  configure(cmd) {
    cmd
      .argument('<reqid>', 'the reqid printed by run --async (or a scan job id)')
      .option('--username <name>', 'user name passed to the agent hook (default $USER)')
      .option('--token <token>', 'auth token (default $ENVEXEC_TOKEN); never logged');
  },
  async run(ctx, args, opts) {
    const reqid = args[0];
    if (reqid === undefined || !/^[A-Za-z0-9_-]{1,64}$/.test(reqid)) throw new UsageError('Usage: ctrl-exec cancel <reqid>');
    const record = storeOf(ctx).get(reqid);
    if (!record) return reportNotFound(ctx, reqid);
    if (record.mode !== 'async') {
      if (ctx.json) ctx.printJson({ ok: 0, error: 'not an async run', reqid });
      else ctx.err(`${reqid} is not an async run: nothing to cancel`);
      return 1;
    }
    const cred = credentials(ctx, opts);
    const dispatcher = dispatcherFor(ctx);
    try {
      const results = await cancelRun(dispatcher, record, cred, ctx.config().maxParallel);
      ctx.log({ action: 'cancel', hosts: results.length, reqid });
      if (ctx.json) {
        ctx.printJson({ ok: 1, reqid, results });
      } else if (results.length === 0) {
        ctx.out(`Nothing to cancel: ${reqid} is not running on any host.`);
      } else {
        for (const r of results) ctx.out(`${r.host}  [${r.status}]${r.error ? `  ${r.error}` : ''}`);
      }
      return results.every((r) => r.status === 'cancelling' || r.status === 'done') ? 0 : 1;
    } finally {
      dispatcher.close();
    }
  },
};
