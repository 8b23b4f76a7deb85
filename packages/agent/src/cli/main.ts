import { Command, CommanderError } from 'commander';
import { CtrlExecError, ExitCode, VERSION } from '@ctrl-exec/core';
import { AGENT_IDENT, Context, type GlobalOptions } from './context.js';
import type { CliIO } from './io.js';
import type { CommandSpec } from './command.js';
import { commands } from '../commands/index.js';

const PROGRAM = 'ctrl-exec-agent';

/** Options (of any mode) that take a value, so that value is not mistaken for the mode. */
const VALUE_OPTIONS = new Set(['--config', '--allowlist', '--dispatcher', '--ctrl-exec', '--port', '--timeout', '--lookup-by']);

export function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    `Usage: ${PROGRAM} [--config <path>] <mode> [options]`,
    '',
    'Modes:',
    ...lines,
    '',
    'Options:',
    '  --config <path>  agent configuration (default $CTRL_EXEC_AGENT_CONFIG or /etc/ctrl-exec-agent/agent.conf)',
    '  --version        print the version',
    '',
    `Run '${PROGRAM} <mode> --help' for the options of one mode.`,
  ].join('\n');
}

/**
 * Find the mode among the arguments. As upstream (Getopt), options may come before or after
 * it: `cea --config x request-pairing --dispatcher d` and `cea request-pairing --config x ...`
 * are the same. Returns the mode and every other argument in order.
 */
export function splitMode(argv: readonly string[]): { mode: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let mode: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg.startsWith('-') && arg !== '-') {
      rest.push(arg);
      if (VALUE_OPTIONS.has(arg) && i + 1 < argv.length) rest.push(argv[++i] as string);
      continue;
    }
    if (mode === undefined) mode = arg;
    else rest.push(arg);
  }
  return { mode, rest };
}

/**
 * Parse argv (without node and script), run one mode, return its exit code.
 * Nothing here calls process.exit: the bin file sets the exit code with what this returns.
 */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const dash = argv.indexOf('--');
  const head = dash === -1 ? argv : argv.slice(0, dash);
  if (head.includes('--version') || head.includes('-V')) {
    io.stdout.write(`${AGENT_IDENT} ${VERSION}\n`);
    return ExitCode.OK;
  }

  const { mode, rest } = splitMode(argv);
  if (mode === undefined || (mode === 'help' && rest.length === 0)) {
    const stray = strayTopLevelOption(rest);
    if (stray !== undefined) {
      io.stderr.write(`error: unknown option '${stray}'\n${usage()}\n`);
      return ExitCode.USAGE;
    }
    io.stdout.write(`${usage()}\n`);
    return ExitCode.OK;
  }
  const spec = commands.find((c) => c.name === mode);
  if (!spec) {
    io.stderr.write(`Unknown mode '${mode}'\n${usage()}\n`);
    return ExitCode.USAGE;
  }

  let exitCode: number = ExitCode.OK;
  let ctx: Context | undefined;
  const program = new Command(PROGRAM)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
  register(program, spec);

  function register(parent: Command, cmdSpec: CommandSpec): void {
    const cmd = parent.command(cmdSpec.name).description(cmdSpec.summary).exitOverride();
    cmd.option('--config <path>', 'agent configuration file');
    cmdSpec.configure(cmd);
    cmd.action(async (...params: unknown[]) => {
      const command = params[params.length - 1] as Command;
      const opts = command.opts() as Record<string, unknown> & GlobalOptions;
      ctx = new Context(io, { config: typeof opts.config === 'string' ? opts.config : undefined });
      exitCode = await cmdSpec.run(ctx, command.args.slice(), opts);
    });
  }

  try {
    await program.parseAsync([mode, ...rest], { from: 'user' });
  } catch (err) {
    exitCode = report(err, io);
  } finally {
    if (ctx) await ctx.close().catch(() => undefined);
  }
  return exitCode;
}

/** With no mode only --config <path> and --help are meaningful; anything else is a usage error. */
function strayTopLevelOption(rest: readonly string[]): string | undefined {
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (arg === '--help' || arg === '-h') continue;
    if (arg === '--config') {
      i++;
      continue;
    }
    if (arg.startsWith('--config=')) continue;
    return arg;
  }
  return undefined;
}

/** Turn a thrown error into its message on stderr and an exit code. */
export function report(err: unknown, io: CliIO): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.OK;
    return ExitCode.USAGE;
  }
  if (err instanceof CtrlExecError) {
    io.stderr.write(`${err.message}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  io.stderr.write(`Internal error: ${message}\n`);
  return ExitCode.FAILED;
}
