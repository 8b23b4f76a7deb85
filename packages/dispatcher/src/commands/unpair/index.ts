import type { CommandSpec } from '../../cli/command.js';
import { registryOf } from '../../cli/state.js';
import { CtrlExecError, UsageError } from '@ctrl-exec/core';

export const unpair: CommandSpec = {
  name: 'unpair',
  summary: 'remove an agent from the registry',
  configure(cmd) {
    cmd.argument('[name]', 'registered agent name');
  },
  async run(ctx, args) {
    const name = args[0];
    if (!name) throw new UsageError('Usage: ctrl-exec unpair <name>');
    let rec;
    try {
      rec = registryOf(ctx.config()).remove(name);
    } catch (err) {
      if (err instanceof CtrlExecError) throw new CtrlExecError(err.code, `Unpair failed: ${err.message}`, { cause: err });
      throw err;
    }
    ctx.log({ action: 'unpair', agent: rec.hostname, expiry: rec.expiry });
    if (ctx.json) {
      ctx.printJson({ ok: 1, agent: rec.hostname, expiry: rec.expiry });
      return 0;
    }
    ctx.out(`Unregistered '${rec.hostname}'.`);
    ctx.out(`WARNING: Agent certificate remains valid until: ${rec.expiry}`);
    ctx.out('To cut it off now, add its serial to revoked-serials on every agent and reload them.');
    return 0;
  },
};
