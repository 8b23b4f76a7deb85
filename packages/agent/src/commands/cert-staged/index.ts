import type { CommandSpec } from '../../cli/command.js';
import type { Context } from '../../cli/context.js';
import { checkRenewedCert, readStaged } from '../../renewal/staged-cert.js';

/**
 * Exit 0 when a renewed certificate is staged and would be installed by promote-cert, else 1
 * (prints nothing), for `ctrl-exec-agent cert-staged && systemctl try-restart ctrl-exec-agent`.
 */
export const certStagedCommand: CommandSpec = {
  name: 'cert-staged',
  summary: 'exit 0 if a valid renewed certificate is staged, else 1 (prints nothing)',
  configure() {},
  async run(ctx: Context): Promise<number> {
    const config = ctx.config();
    const staged = readStaged(config.certStagingPath);
    if (staged === undefined) return 1;
    return checkRenewedCert(staged, { ca: config.ca, key: config.key }).ok ? 0 : 1;
  },
};
