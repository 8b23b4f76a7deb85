import { listHeldLocks } from '@ctrl-exec/core';
import type { CommandSpec } from '../../cli/command.js';
import { row } from '../../cli/format.js';

export const listLocks: CommandSpec = {
  name: 'list-locks',
  summary: 'show the host:script locks held by running dispatches',
  configure() {},
  async run(ctx) {
    const locks = listHeldLocks(ctx.config().paths.locksDir);
    if (ctx.json) {
      ctx.printJson({ ok: 1, locks });
      return 0;
    }
    if (locks.length === 0) {
      ctx.out('No locks currently held.');
      return 0;
    }
    ctx.out(row(['HOST', 'SCRIPT'], [30]));
    ctx.out('-'.repeat(50));
    for (const l of locks) ctx.out(row([l.host, l.script], [30]));
    return 0;
  },
};
