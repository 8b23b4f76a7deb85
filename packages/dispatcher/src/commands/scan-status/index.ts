import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError } from '@ctrl-exec/core';
import type { CommandSpec } from '../../cli/command.js';
import type { Context } from '../../cli/context.js';
import type { Dispatcher } from '../../engine/index.js';
import { scanInfoOf, scanJobView, type ScanJobView } from '../../scans/host-scan.js';
import { dispatcherFor } from '../run/support.js';
import { EXIT_FINDINGS, failOnOption, findingsExit, scanTextLines, writeSarifFile } from '../scan/render.js';
import { refreshRecord, reportNotFound, storeOf } from '../status/aggregate.js';

const POLL_MS = 2000;

async function currentView(ctx: Context, id: string, dispatcher: () => Dispatcher): Promise<ScanJobView | number> {
  const record = await refreshRecord(ctx, storeOf(ctx), id, dispatcher);
  if (!record) return reportNotFound(ctx, id);
  const info = record.mode === 'async' ? scanInfoOf(record as { scan?: unknown }) : undefined;
  if (record.mode !== 'async' || !info) {
    if (ctx.json) ctx.printJson({ ok: 0, error: 'not a scan job', reqid: id });
    else ctx.err(`${id} is not a scan job (see 'ctrl-exec status ${id}')`);
    return 1;
  }
  return scanJobView(record, info);
}

/** An async scan job: where it stands, its merged findings, and SARIF once it is done. */
export const scanStatusCommand: CommandSpec = {
  name: 'scan-status',
  summary: 'show an async scan job (hosts, merged findings); --wait until it is done',
  configure(cmd) {
    cmd
      .argument('<job>', 'the job id printed by scan --async')
      .option('--wait', 'poll until every host has finished')
      .option('--timeout <seconds>', 'give up waiting after this long (default 3600)', '3600')
      .option('--sarif <file>', 'write the merged findings as SARIF 2.1.0 (when the job is done)')
      .option('--fail-on <severity>', `exit ${EXIT_FINDINGS} when a finding is at this severity or worse`);
  },
  async run(ctx, args, opts) {
    const id = args[0];
    if (id === undefined || !/^[0-9a-f]{16}$/.test(id)) throw new UsageError('Usage: ctrl-exec scan-status <job> [--wait] [--sarif <file>] [--json]');
    const timeout = Number(opts.timeout);
    if (!Number.isInteger(timeout) || timeout < 1 || timeout > 86_400) throw new UsageError('--timeout: seconds between 1 and 86400');
    const failOn = failOnOption(opts);
    let engine: Dispatcher | undefined;
    const dispatcher = () => (engine ??= dispatcherFor(ctx));
    try {
      const deadline = Date.now() + timeout * 1000;
      let view = await currentView(ctx, id, dispatcher);
      while (typeof view !== 'number' && view.status === 'running' && opts.wait === true && Date.now() < deadline) {
        await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
        view = await currentView(ctx, id, dispatcher);
      }
      if (typeof view === 'number') return view;
      const done = view.status !== 'running';
      if (typeof opts.sarif === 'string') {
        if (!done) {
          ctx.err('The job is still running: no SARIF written');
        } else {
          writeSarifFile(opts.sarif, view.findings, view.id);
        }
      }
      if (ctx.json) {
        ctx.printJson({ ok: 1, id: view.id, status: view.status, engines: view.engines, hosts: view.hosts.map(({ findings, ...rest }) => ({ ...rest, findings: findings.length })), findings: view.findings });
      } else {
        ctx.out(`Scan job ${view.id}: ${view.status} (${view.engines.join(', ')})`);
        for (const line of scanTextLines(view.hosts, view.findings)) ctx.out(line);
        if (typeof opts.sarif === 'string' && done) ctx.out(`SARIF written to ${opts.sarif}`);
      }
      if (!done) return opts.wait === true ? 1 : 0;
      if (view.status !== 'completed') return 1;
      return findingsExit(ctx, view.findings, failOn);
    } finally {
      engine?.close();
    }
  },
};
