import type { CommandSpec } from '../../cli/command.js';
import type { Context } from '../../cli/context.js';
import { pairingState } from '../../pairing/status.js';
import { pairingPaths } from '../../pairing/preflight.js';
import { describeRequestState, readRequestState } from '../../pairing/request-state.js';

export const pairingStatusCommand: CommandSpec = {
  name: 'pairing-status',
  summary: 'show whether this agent is paired and when its certificate expires',
  configure() {},
  async run(ctx: Context): Promise<number> {
    const config = ctx.config();
    const state = pairingState(config);
    if (state.paired) ctx.out(`Paired. Certificate expires: ${state.notAfter}`);
    else ctx.out(`Not paired. Reason: ${state.reason}`);
    const request = readRequestState(pairingPaths(config).requestStatePath);
    if (request) ctx.out(describeRequestState(request));
    return state.paired ? 0 : 1;
  },
};
