/**
 * pool: api-run's load at concurrency 16 against two API processes on the same dispatcher
 * state and agent: one as shipped (keep-alive pool with TLS session reuse) and one with
 * `agent_keepalive = 0` (every request its own connection and full TLS handshake, as
 * upstream does). Measured back to back in the same run, so the ratio is the pool's gain;
 * each API process is warmed up first, as in api-run.
 */
import { apiAvailable, startApi } from './lib/api.mjs';
import { emit, log } from './lib/report.mjs';
import { measureApi, warmUp } from './api-run.mjs';

export async function pool(ctx) {
  if (!apiAvailable()) throw new Error('ctrl-exec-api is not built (packages/api/dist/bin/ctrl-exec-api.js)');
  const { d, agent } = await ctx.apiFixture();
  const rounds = ctx.full ? 2 : 1;
  const totals = { on: [], off: [] };
  for (let round = 0; round < rounds; round++) {
    for (const mode of ['on', 'off']) {
      const api = await startApi(d, `api-pool-${mode}`, { agent_keepalive: mode === 'on' ? 1 : 0 });
      try {
        await warmUp(ctx, api, agent);
        const r = await measureApi(ctx, api, agent, 16);
        totals[mode].push(r);
        log(`pool ${mode} (round ${round + 1}): ${r.perSecond.toFixed(0)} runs/s, API CPU ${r.apiCpuMsPerRun.toFixed(2)} ms/run`);
      } finally {
        await api.stop();
      }
    }
  }
  const mean = (list, f) => list.reduce((s, r) => s + f(r), 0) / list.length;
  const figures = {};
  for (const mode of ['on', 'off']) {
    const list = totals[mode];
    figures[mode] = mean(list, (r) => r.perSecond);
    const extra = { concurrency: 16, keepalive: mode === 'on', runs: list.reduce((s, r) => s + r.ok, 0), failed: list.reduce((s, r) => s + r.failed, 0) };
    emit('pool', `runs_per_s_pool_${mode}`, figures[mode], 'runs/s', extra);
    emit('pool', `p50_ms_pool_${mode}`, mean(list, (r) => r.p50), 'ms', extra);
    emit('pool', `api_cpu_ms_per_run_pool_${mode}`, mean(list, (r) => r.apiCpuMsPerRun), 'ms', extra);
    emit('pool', `agent_cpu_ms_per_run_pool_${mode}`, mean(list, (r) => r.agentCpuMsPerRun), 'ms', extra);
  }
  emit('pool', 'pool_gain_ratio', figures.on / figures.off, 'x', { concurrency: 16, note: 'runs/s with the keep-alive pool / without (agent_keepalive = 0)' });
}
