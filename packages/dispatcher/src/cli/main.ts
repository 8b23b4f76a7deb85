import { Command, CommanderError } from 'commander';
import { CtrlExecError, ExitCode, VERSION } from '@ctrl-exec/core';
import { Context, type GlobalOptions } from './context.js';
import type { CliIO } from './io.js';
import type { CommandSpec } from './command.js';
import { commands } from '../commands/index.js';

const PROGRAM = 'ctrl-exec';

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    `Usage: ${PROGRAM} [--config <path>] [--json] <mode> [args]`,
    '',
    'Modes:',
    ...lines,
    '',
    `Run '${PROGRAM} <mode> --help' for the options of one mode.`,
  ].join('\n');
}

/**
 * Parse argv (without node and script), run one mode, return its exit code.
 * Nothing here calls process.exit: the bin file does, with what this returns.
 */
export async function main(argv: string[], io: CliIO): Promise<number> {
  // Everything after the first `--` is passed verbatim to the mode (script arguments).
  const dash = argv.indexOf('--');
  const head = dash === -1 ? argv : argv.slice(0, dash);
  const passthrough = dash === -1 ? [] : argv.slice(dash + 1);

  if (head.length === 0) {
    io.stderr.write(`${usage()}\n`);
    return ExitCode.USAGE;
  }
  if (head.length === 1 && (head[0] === '--version' || head[0] === '-V')) {
    io.stdout.write(`ctrl-exec-dispatcher ${VERSION}\n`);
    return ExitCode.OK;
  }
  if (head.length === 1 && (head[0] === '--help' || head[0] === '-h' || head[0] === 'help')) {
    io.stdout.write(`${usage()}\n`);
    return ExitCode.OK;
  }

  let exitCode: number = ExitCode.OK;
  let ctx: Context | undefined;
  const program = new Command(PROGRAM)
    .option('--config <path>', 'dispatcher configuration file (default $CTRL_EXEC_CONFIG or /etc/ctrl-exec/ctrl-exec.conf)')
    .option('--json', 'machine-readable output')
    .version(VERSION, '--version', 'print the version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showSuggestionAfterError(true);

  for (const spec of commands) register(program, spec);

  program.on('command:*', (operands: string[]) => {
    io.stderr.write(`Unknown mode '${operands[0]}'\n${usage()}\n`);
    exitCode = ExitCode.USAGE;
  });

  function register(parent: Command, spec: CommandSpec): void {
    const cmd = parent.command(spec.name).description(spec.summary).exitOverride();
    cmd.option('--config <path>', 'dispatcher configuration file').option('--json', 'machine-readable output');
    spec.configure(cmd);
    cmd.action(async (...params: unknown[]) => {
      const command = params[params.length - 1] as Command;
      const opts = command.optsWithGlobals() as Record<string, unknown> & GlobalOptions;
      const args = command.args.slice();
      ctx = new Context(io, { config: opts.config, json: opts.json === true });
      exitCode = await spec.run(ctx, [...args, ...(passthrough.length ? ['--', ...passthrough] : [])], opts);
    });
  }

  try {
    await program.parseAsync(head, { from: 'user' });
  } catch (err) {
    exitCode = report(err, io, ctx);
  } finally {
    if (ctx) await ctx.close().catch(() => undefined);
  }
  return exitCode;
}

function report(err: unknown, io: CliIO, ctx: Context | undefined): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.OK;
    return ExitCode.USAGE;
  }
  if (err instanceof CtrlExecError) {
    if (ctx?.json) io.stdout.write(`${JSON.stringify({ ok: 0, error: err.message, code: err.code })}\n`);
    else io.stderr.write(`${err.code === 'CE_ERR_USAGE' || err.exitCode === ExitCode.CONFIG ? '' : 'Error: '}${err.message}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  io.stderr.write(`Internal error: ${message}\n`);
  return ExitCode.FAILED;
}
