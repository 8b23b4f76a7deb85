import { Option, type Command } from 'commander';
import type { CommandSpec } from '../../cli/command.js';
import type { Context } from '../../cli/context.js';
import { parsePairingOptions } from '../../pairing/options.js';
import { checkPairingPreconditions, pairingPaths } from '../../pairing/preflight.js';
import { WORKER_FLAG } from '../../pairing/background.js';
import { runForeground } from './foreground.js';
import { runBackgroundParent, runBackgroundWorker } from './background.js';

export const requestPairingCommand: CommandSpec = {
  name: 'request-pairing',
  summary: 'ask a dispatcher for this agent\'s certificate (approved by an operator)',
  configure(cmd: Command) {
    cmd
      .option('--dispatcher <host>', 'the dispatcher running pairing-mode')
      .addOption(new Option('--ctrl-exec <host>', 'same as --dispatcher'))
      .option('--port <n>', 'its pairing port (default 7444)')
      .option('--lookup-by <how>', "how the dispatcher should reach this agent: 'ip' or 'hostname'")
      .option('--background', 'print only the request id, then wait for the verdict in a detached process')
      .option('--timeout <seconds>', 'seconds to wait for the verdict (background: default 30, at most 600)')
      .addOption(new Option(WORKER_FLAG).hideHelp());
  },
  async run(ctx: Context, _args: string[], opts: Record<string, unknown>): Promise<number> {
    const request = parsePairingOptions(opts);
    const config = ctx.config();
    const paths = pairingPaths(config);
    checkPairingPreconditions(paths);
    const keyBits = config.keyBits;
    const setup = { request, config, paths, keyBits };
    if (opts.backgroundWorker === true) return runBackgroundWorker(ctx, setup);
    if (request.background) return runBackgroundParent(ctx, setup);
    return runForeground(ctx, setup);
  },
};
