import type { CommandSpec } from '../../cli/command.js';
import { registryOf } from '../../cli/state.js';
import { rotateCert } from '../../rotation/lifecycle.js';

/** Feature 59: rotate the dispatcher certificate now and announce the new serial. */
export const rotateCertCommand: CommandSpec = {
  name: 'rotate-cert',
  summary: 'replace the dispatcher certificate now and announce the new serial to every agent',
  configure() {},
  async run(ctx) {
    const config = ctx.config();
    let result;
    try {
      result = await rotateCert({ config, registry: registryOf(config), audit: (e) => ctx.log(e) });
    } catch (err) {
      if (ctx.json) {
        ctx.printJson({ ok: 0, error: `Rotation failed: ${(err as Error).message}` });
      } else {
        ctx.err(`Rotation failed: ${(err as Error).message}`);
      }
      return 1;
    }
    if (ctx.json) {
      ctx.printJson({
        ok: 1,
        new_serial: result.newSerial,
        old_serial: result.oldSerial,
        overlap_expires: result.overlapExpires,
        agents_pending: result.pending,
        updated: result.updated,
        failed: result.failed,
      });
    } else {
      ctx.out(`New serial:      ${result.newSerial}`);
      ctx.out(`Old serial:      ${result.oldSerial}`);
      ctx.out(`Overlap expires: ${result.overlapExpires}`);
      ctx.out(`Agents pending:  ${result.pending}`);
      ctx.out(`Updated: ${result.updated.length}`);
      ctx.out(`Failed:  ${result.failed.length}`);
      for (const f of result.failed) ctx.out(`  ${f.host}: ${f.error}`);
      if (result.failed.length > 0) ctx.out(`Failed agents are retried by 'ctrl-exec maintain' until ${result.overlapExpires}.`);
    }
    return 0;
  },
};
