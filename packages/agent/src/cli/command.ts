import type { Command } from 'commander';
import type { Context } from './context.js';

/** One CLI mode: `src/commands/<name>/index.ts` exports one of these. */
export interface CommandSpec {
  name: string;
  summary: string;
  /** Declare arguments and options on the commander command. */
  configure(cmd: Command): void;
  /** Returns the exit code. Throw CtrlExecError for failures. */
  run(ctx: Context, args: string[], opts: Record<string, unknown>): Promise<number>;
}
