import type { CommandSpec } from '../../cli/command.js';
import { registryOf } from '../../cli/state.js';
import { validateOverrides } from '../../pairing/decide.js';
import { CtrlExecError, UsageError, isValidAgentName } from '@ctrl-exec/core';

export const editAgent: CommandSpec = {
  name: 'edit-agent',
  summary: "change an agent's registered address, port or name (no re-pairing)",
  configure(cmd) {
    cmd
      .argument('[name]', 'registered agent name')
      .option('--rename <new>', 'new registry name')
      .option('--ip <address>', 'address to connect to')
      .option('--agent-port <port>', 'agent port')
      .option('--lookup-by <how>', "'ip' or 'hostname'");
  },
  async run(ctx, args, opts) {
    const name = args[0];
    if (!name) throw new UsageError('Usage: ctrl-exec edit-agent <name> [--rename <new>] [--ip <addr>] [--agent-port <n>] [--lookup-by ip|hostname]');
    const rename = opts.rename as string | undefined;
    if (rename === undefined && opts.ip === undefined && opts.agentPort === undefined && opts.lookupBy === undefined) {
      throw new UsageError('Nothing to change. Pass at least one of --rename, --ip, --agent-port, --lookup-by.');
    }
    const o = validateOverrides({ lookupBy: opts.lookupBy as string | undefined, ip: opts.ip as string | undefined, agentPort: opts.agentPort as string | undefined });
    for (const n of [name, rename]) {
      if (n !== undefined && !isValidAgentName(n)) throw new UsageError(`invalid agent name '${n}' (use letters, digits, '.', '-', '_')`);
    }
    const registry = registryOf(ctx.config());
    let updated;
    try {
      updated = registry.update(name, (rec) => ({
        ...rec,
        ...(rename !== undefined ? { hostname: rename } : {}),
        ...(o.ip !== undefined ? { ip: o.ip } : {}),
        ...(o.port !== undefined ? { port: o.port } : {}),
        ...(o.lookupBy !== undefined ? { lookup_by: o.lookupBy } : {}),
      }));
    } catch (err) {
      if (err instanceof CtrlExecError) throw new CtrlExecError(err.code, `Edit failed: ${err.message}`, { cause: err });
      throw err;
    }
    ctx.log({
      action: 'edit-agent',
      agent: updated.hostname,
      ...(o.ip !== undefined ? { ip: o.ip } : {}),
      ...(o.lookupBy !== undefined ? { lookup_by: o.lookupBy } : {}),
      ...(o.port !== undefined ? { port: o.port } : {}),
      ...(rename !== undefined ? { renamed_from: name } : {}),
    });
    if (ctx.json) ctx.printJson(updated);
    else ctx.out(`Updated agent '${updated.hostname}'.`);
    return 0;
  },
};
