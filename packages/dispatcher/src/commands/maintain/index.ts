import { RunStore } from '@ctrl-exec/core';
import type { CommandSpec } from '../../cli/command.js';
import type { Context } from '../../cli/context.js';
import { registryOf } from '../../cli/state.js';
import { MAX_HOSTS, type ResolvedHost } from '../../engine/index.js';
import { broadcastPending, checkAndRotate, expireOverlap, type RotationDeps } from '../../rotation/lifecycle.js';
import { renewDue } from '../../rotation/renewal.js';
import { dispatcherFor } from '../run/support.js';

type Phase = 'ping' | 'rotate' | 'broadcast' | 'expire' | 'purge';

/** Ping every agent (renewing due agent certificates); returns [agents, pinged ok]. */
async function pingAll(ctx: Context): Promise<[number, number]> {
  const dispatcher = dispatcherFor(ctx);
  try {
    const names = dispatcher.registry.names();
    let pinged = 0;
    for (let i = 0; i < names.length; i += MAX_HOSTS) {
      const hosts: ResolvedHost[] = dispatcher.resolve(names.slice(i, i + MAX_HOSTS));
      const { results } = await dispatcher.ping({ hosts });
      pinged += results.filter((r) => r.status === 'ok').length;
      await renewDue({ config: ctx.config(), registry: dispatcher.registry, client: dispatcher.client(), audit: (e) => ctx.log(e) }, hosts, results);
    }
    return [names.length, pinged];
  } finally {
    dispatcher.close();
  }
}

/**
 * Feature 61: the periodic job (a root timer every few hours). Each phase runs whatever
 * happened to the ones before it; a failed phase is logged and makes the exit status 1.
 */
export const maintainCommand: CommandSpec = {
  name: 'maintain',
  summary: 'periodic upkeep: ping all agents (renewing due certs), rotate, announce, retire, purge old runs',
  configure() {},
  async run(ctx) {
    const config = ctx.config();
    const deps = (): RotationDeps => ({ config, registry: registryOf(config), audit: (e) => ctx.log(e) });
    let agents = 0;
    let pinged = 0;
    const failures: Array<{ phase: Phase; error: string }> = [];
    const phase = async (name: Phase, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        const error = (err as Error).message;
        failures.push({ phase: name, error });
        ctx.log({ action: 'maintain', phase: name, error, level: 'err' });
      }
    };
    await phase('ping', async () => {
      [agents, pinged] = await pingAll(ctx);
    });
    await phase('rotate', () => checkAndRotate(deps()));
    await phase('broadcast', () => broadcastPending(deps()));
    await phase('expire', () => expireOverlap(deps()));
    await phase('purge', async () => new RunStore(config.paths.runsDir).purge());
    ctx.log({ action: 'maintain', agents, pinged });
    if (ctx.json) {
      ctx.printJson({ ok: failures.length === 0 ? 1 : 0, agents, pinged, ...(failures.length > 0 ? { errors: failures } : {}) });
    } else {
      ctx.out(`Maintenance run: ${pinged}/${agents} agents pinged, dispatcher cert checked.`);
      for (const f of failures) ctx.err(`maintain: ${f.phase} failed: ${f.error}`);
    }
    return failures.length === 0 ? 0 : 1;
  },
};
