import type { CommandSpec } from '../../cli/command.js';
import { pairingQueueOf, registryOf } from '../../cli/state.js';
import { approveRequest, approvalMessage } from '../../pairing/decide.js';
import { UsageError } from '@ctrl-exec/core';

export const approve: CommandSpec = {
  name: 'approve',
  summary: 'approve a pairing request: sign its certificate and register the agent',
  configure(cmd) {
    cmd
      .argument('[reqid]', 'pairing request id (see list-requests)')
      .option('--lookup-by <how>', "how the dispatcher reaches the agent: 'ip' or 'hostname'")
      .option('--ip <address>', 'address to register for the agent')
      .option('--agent-port <port>', 'agent port to register (default: the one the agent reported, else 7443)');
  },
  async run(ctx, args, opts) {
    const id = args[0];
    if (!id) throw new UsageError('Usage: ctrl-exec approve <reqid> [--lookup-by ip|hostname] [--ip <addr>] [--agent-port <n>]');
    const config = ctx.config();
    const result = approveRequest({
      config,
      queue: pairingQueueOf(config),
      registry: registryOf(config),
      id,
      overrides: {
        lookupBy: opts.lookupBy as string | undefined,
        ip: opts.ip as string | undefined,
        agentPort: opts.agentPort as string | undefined,
      },
      audit: (e) => ctx.log(e),
    });
    if (ctx.json) ctx.printJson({ ok: 1, reqid: result.request.id, agent: result.record, serial: result.issued.serial });
    else for (const line of approvalMessage(result)) ctx.out(line);
    return 0;
  },
};
