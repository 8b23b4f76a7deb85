import type { CommandSpec } from '../../cli/command.js';
import { pairingQueueOf } from '../../cli/state.js';
import { denyRequest } from '../../pairing/decide.js';
import { UsageError } from '@ctrl-exec/core';

export const deny: CommandSpec = {
  name: 'deny',
  summary: 'deny a pairing request',
  configure(cmd) {
    cmd.argument('[reqid]', 'pairing request id (see list-requests)');
  },
  async run(ctx, args) {
    const id = args[0];
    if (!id) throw new UsageError('Usage: ctrl-exec deny <reqid>');
    const req = denyRequest({ queue: pairingQueueOf(ctx.config()), id, audit: (e) => ctx.log(e) });
    if (ctx.json) ctx.printJson({ ok: 1, reqid: req.id, agent: req.hostname });
    else ctx.out(`Denied request '${req.id}'.`);
    return 0;
  },
};
