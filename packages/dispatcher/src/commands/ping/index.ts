import { UsageError } from '@ctrl-exec/core';
import type { CommandSpec } from '../../cli/command.js';
import { row } from '../../cli/format.js';
import { checkHostCount, type HostResult } from '../../engine/index.js';
import { renewDue } from '../../rotation/renewal.js';
import { authorizeCli, credentials, dispatcherFor, hostRefs, Progress, resolveForCli, splitPassthrough } from '../run/support.js';

const WIDTHS = [30, 8, 8, 28];

function text(v: unknown, fallback: string): string {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : fallback;
}

/** `HOST STATUS RTT CERT EXPIRY VERSION`, 85 dashes, one row per host (+ the error of a failed one). */
export function pingTableLines(results: readonly HostResult[]): string[] {
  const lines = [row(['HOST', 'STATUS', 'RTT', 'CERT EXPIRY', 'VERSION'], WIDTHS), '-'.repeat(85)];
  for (const r of results) {
    const host = typeof r.reported_hostname === 'string' ? `${r.host} (${r.reported_hostname})` : r.host;
    lines.push(row([host, text(r.status, 'error'), text(r.rtt, '?'), text(r.expiry, '?'), text(r.version, '?')], WIDTHS));
    if (typeof r.error === 'string' && r.error !== '') lines.push(`    ERROR: ${r.error}`);
  }
  return lines;
}

export const ping: CommandSpec = {
  name: 'ping',
  summary: 'check mTLS connectivity to agents (status, rtt, cert expiry, version)',
  configure(cmd) {
    cmd
      .argument('[hosts...]', '<host>[:<port>]...')
      .option('--tags <filter>', "also every agent whose cached tags match k=v[,k2=v2] (see 'discover')")
      .option('--username <name>', 'user name passed to the auth hook (default $USER)')
      .option('--token <token>', 'auth token (default $ENVEXEC_TOKEN); never logged');
  },
  async run(ctx, args, opts) {
    const { positional, passthrough } = splitPassthrough(args);
    if (passthrough.length > 0) throw new UsageError('Usage: ctrl-exec ping <host>[:<port>] [<host>...]');
    const refs = hostRefs(ctx, positional, opts.tags);
    if (refs.length === 0) throw new UsageError('Usage: ctrl-exec ping <host>[:<port>] [<host>...]');
    checkHostCount(refs);
    const cred = credentials(ctx, opts);
    const denied = await authorizeCli(ctx, { action: 'ping', hosts: refs, ...cred });
    if (denied !== undefined) return denied;

    const dispatcher = dispatcherFor(ctx);
    try {
      const hosts = resolveForCli(ctx, dispatcher, refs);
      const progress = new Progress(ctx.io.stderr, hosts.length);
      const { results } = await dispatcher.ping({ hosts, onResult: (r) => progress.hostDone(r.status !== 'ok') });
      progress.finish();
      if (ctx.json) ctx.printJson({ ok: 1, results });
      else for (const line of pingTableLines(results)) ctx.out(line);
      // Renew agent certificates that are due (only when this process can read the CA key).
      const config = ctx.config();
      const renewals = await renewDue({ config, registry: dispatcher.registry, client: dispatcher.client(), audit: (e) => ctx.log(e) }, hosts, results);
      if (!ctx.json) {
        for (const r of renewals) {
          ctx.err(r.renewed ? `Renewed certificate staged on ${r.host} (expires ${r.expiry})` : `Certificate renewal failed for ${r.host}: ${r.error}`);
        }
      }
      // Unlike upstream (always 0), a host that did not answer ok makes the exit status 1.
      return results.every((r) => r.status === 'ok') ? 0 : 1;
    } finally {
      dispatcher.close();
    }
  },
};
