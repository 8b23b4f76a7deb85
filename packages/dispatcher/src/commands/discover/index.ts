import type { CommandSpec } from '../../cli/command.js';
import { row } from '../../cli/format.js';
import { cacheTags, MAX_HOSTS, type HostResult } from '../../engine/index.js';
import { authorizeCli, credentials, dispatcherFor, resolveForCli, splitPassthrough } from '../run/support.js';

const WIDTHS = [30, 8, 30];

function tagText(tags: unknown): string {
  if (tags === null || typeof tags !== 'object') return '-';
  const pairs = Object.entries(tags as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`);
  return pairs.length > 0 ? pairs.sort().join(',') : '-';
}

function scriptsText(scripts: unknown): string {
  return Array.isArray(scripts) ? scripts.map((s) => String((s as { name?: unknown }).name)).sort().join(' ') : '';
}

/**
 * What agents offer (`GET /capabilities`: tags and allowlisted scripts), as the API's
 * `/discovery` gives it; each answering agent's tags are cached in its registry record,
 * which is what `--tags` selections on run, ping and scan read.
 */
export const discoverCommand: CommandSpec = {
  name: 'discover',
  summary: "ask agents for their tags and scripts and cache the tags (for --tags on run, ping, scan)",
  configure(cmd) {
    cmd
      .argument('[hosts...]', '<host>[:<port>]... (default: every registered agent)')
      .option('--username <name>', 'user name passed to the auth hook (default $USER)')
      .option('--token <token>', 'auth token (default $ENVEXEC_TOKEN); never logged');
  },
  async run(ctx, args, opts) {
    const { positional } = splitPassthrough(args);
    const dispatcher = dispatcherFor(ctx);
    try {
      const refs = positional.length > 0 ? positional : dispatcher.registry.names();
      if (refs.length === 0) {
        if (ctx.json) ctx.printJson({ ok: 1, hosts: {} });
        else ctx.out('No agents registered.');
        return 0;
      }
      const cred = credentials(ctx, opts);
      const denied = await authorizeCli(ctx, { action: 'ping', hosts: refs, ...cred });
      if (denied !== undefined) return denied;
      const results: HostResult[] = [];
      for (let i = 0; i < refs.length; i += MAX_HOSTS) {
        const hosts = resolveForCli(ctx, dispatcher, refs.slice(i, i + MAX_HOSTS));
        results.push(...(await dispatcher.capabilities({ hosts })).results);
      }
      cacheTags(dispatcher.registry, results);
      if (ctx.json) {
        ctx.printJson({ ok: 1, hosts: Object.fromEntries(results.map((r) => [r.host, r])) });
      } else {
        ctx.out(row(['HOST', 'STATUS', 'TAGS', 'SCRIPTS'], WIDTHS));
        ctx.out('-'.repeat(85));
        for (const r of results) {
          const ok = r.status === 'ok';
          ctx.out(row([r.host, ok ? 'ok' : 'error', ok ? tagText(r.tags) : '-', ok ? scriptsText(r.scripts) : String(r.error ?? '')], WIDTHS));
        }
      }
      return results.every((r) => r.status === 'ok') ? 0 : 1;
    } finally {
      dispatcher.close();
    }
  },
};
