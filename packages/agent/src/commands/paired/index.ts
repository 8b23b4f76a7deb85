import type { CommandSpec } from '../../cli/command.js';
import type { Context } from '../../cli/context.js';
import { credentialsPresent } from '../../pairing/status.js';

export const pairedCommand: CommandSpec = {
  name: 'paired',
  summary: 'exit 0 if the certificate, key and CA files exist, else 1 (prints nothing)',
  configure() {},
  async run(ctx: Context): Promise<number> {
    return credentialsPresent(ctx.config()) ? 0 : 1;
  },
};
