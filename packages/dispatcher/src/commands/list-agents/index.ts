import type { CommandSpec } from '../../cli/command.js';
import { row } from '../../cli/format.js';
import { registryOf } from '../../cli/state.js';
import type { CtrlExecError} from '@ctrl-exec/core';
import { matchesTags, parseOpensslDate, parseTagFilter, UsageError, type AgentRecord } from '@ctrl-exec/core';

const WIDTHS = [30, 16, 5, 8, 22, 24];

export function daysLeft(expiry: string, now = Date.now()): string {
  const d = parseOpensslDate(expiry);
  return d ? String(Math.floor((d.getTime() - now) / 86_400_000)) : '?';
}

export function agentTableLines(agents: AgentRecord[], now = Date.now()): string[] {
  const lines = [row(['HOSTNAME', 'IP', 'PORT', 'LOOKUP', 'PAIRED', 'CERT EXPIRY', 'DAYS LEFT'], WIDTHS), '-'.repeat(112)];
  for (const a of agents) {
    lines.push(row([a.hostname, a.ip || '-', String(a.port), a.lookup_by, a.paired || '-', a.expiry || '-', daysLeft(a.expiry, now)], WIDTHS));
  }
  return lines;
}

export const listAgents: CommandSpec = {
  name: 'list-agents',
  summary: 'list registered agents',
  configure(cmd) {
    cmd.option('--tags <filter>', 'only agents whose cached tags match k=v[,k2=v2]');
  },
  async run(ctx, _args, opts) {
    let filter: Record<string, string> | undefined;
    if (typeof opts.tags === 'string') {
      try {
        filter = parseTagFilter(opts.tags);
      } catch (err) {
        throw new UsageError(`Invalid --tags filter: ${(err as CtrlExecError).message}`);
      }
    }
    const registry = registryOf(ctx.config());
    let agents = registry.list((name, err) => ctx.err(`Warning: skipping '${name}': ${err.message}`));
    if (filter) agents = agents.filter((a) => matchesTags(a, filter));
    if (ctx.json) {
      ctx.printJson(agents);
      return 0;
    }
    if (agents.length === 0) {
      ctx.out(filter ? 'No agents match the tag filter.' : 'No registered agents.');
      return 0;
    }
    for (const line of agentTableLines(agents)) ctx.out(line);
    return 0;
  },
};
