/**
 * api-run: `POST /run` to one agent running the trivial script, at concurrency 1, 16 and 64.
 *
 * The dispatcher holds a lock per host:script for the whole dispatch, so concurrent runs of
 * one script on one host would conflict (409). Client i therefore runs its own allowlist
 * entry `t<i>` (all the same trivial file): C clients = C distinct scripts on the one agent.
 */
import { cpus } from 'node:os';
import { apiAvailable, startApi } from './lib/api.mjs';
import { closedLoop } from './lib/load.mjs';
import { cpuMsOf, rssMb } from './lib/procs.mjs';
import { emit, log, percentile, verdict } from './lib/report.mjs';

const UPSTREAM_RPS = { 1: 10, 4: 18, 16: 18 };
const UPSTREAM_P50 = { 16: 914 };
export const TARGET_C16_RPS = 300;
const NOTE = 'one agent; client i runs its own script t<i> (same file) since host:script is locked per dispatch';

export const runOk = (reply) => reply.status === 200 && reply.json?.ok === true && reply.json.results?.[0]?.exit === 0;

const loadOptions = (api, agent, c) => ({ url: `${api.url}/run`, concurrency: c, bodyFor: (i) => ({ hosts: [agent.name], script: `t${i + 1}` }), isOk: runOk });

/**
 * A fresh API process (and a fresh agent) gets much faster over its first few thousand
 * requests as V8 optimises the hot paths: load it at concurrency 16 for a while first.
 * Returns that window's rate.
 */
export async function warmUp(ctx, api, agent) {
  const r = await closedLoop({ ...loadOptions(api, agent, 16), maxRequests: 20_000, durationMs: ctx.full ? 20_000 : 10_000 });
  return r.perSecond;
}

/** Load `api` at concurrency `c` (after a 1 s settle); CPU of the API, agent and load generator per run. */
export async function measureApi(ctx, api, agent, c) {
  const durationMs = ctx.full ? 10_000 : 4000;
  const common = loadOptions(api, agent, c);
  await closedLoop({ ...common, maxRequests: 5000, durationMs: 1000 });
  const apiCpu0 = cpuMsOf(api.pid);
  const agentCpu0 = cpuMsOf(agent.proc.pid, { children: true });
  const ownCpu0 = process.cpuUsage();
  const r = await closedLoop({ ...common, maxRequests: ctx.full ? 50_000 : 10_000, durationMs });
  const ownCpu = process.cpuUsage(ownCpu0);
  const perRun = (ms) => ms / Math.max(1, r.sent);
  const apiCpu = perRun(cpuMsOf(api.pid) - apiCpu0);
  const agentCpu = perRun(cpuMsOf(agent.proc.pid, { children: true }) - agentCpu0);
  const loadCpu = perRun((ownCpu.user + ownCpu.system) / 1000);
  if (r.failed > 0) log(`concurrency ${c}: ${r.failed} of ${r.sent} failed: ${JSON.stringify(r.failures)}`);
  return { ...r, p50: percentile(r.latencies, 50), p99: percentile(r.latencies, 99), apiCpuMsPerRun: apiCpu, agentCpuMsPerRun: agentCpu, loadCpuMsPerRun: loadCpu };
}

export async function apiRun(ctx) {
  if (!apiAvailable()) throw new Error('ctrl-exec-api is not built (packages/api/dist/bin/ctrl-exec-api.js)');
  const { d, agent } = await ctx.apiFixture();
  const api = await startApi(d, 'api');
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    emit('api-run', 'api_rss_idle', rssMb(api.pid), 'MB', { upstream: 16 });
    const cold = await warmUp(ctx, api, agent);
    emit('api-run', 'runs_per_s_warmup', cold, 'runs/s', { concurrency: 16, note: 'first seconds of a fresh API process (not a steady-state figure)' });
    // 16 first, straight after the warm-up: it is the level with a target
    for (const c of [16, 1, 64]) {
      const r = await measureApi(ctx, api, agent, c);
      const extra = { concurrency: c, runs: r.ok, failed: r.failed };
      const rpsExtra = { ...extra, note: NOTE };
      if (UPSTREAM_RPS[c] !== undefined) rpsExtra.upstream = UPSTREAM_RPS[c];
      if (c === 16) {
        rpsExtra.target = `>= ${TARGET_C16_RPS}`;
        rpsExtra.verdict = verdict(r.perSecond, { min: TARGET_C16_RPS });
        if (ctx.spawnFloor) {
          rpsExtra.ratio_to_spawn_floor = Number((r.perSecond / ctx.spawnFloor.c16).toFixed(3));
          rpsExtra.ratio_target = '>= 0.35';
        }
      }
      emit('api-run', 'runs_per_s', r.perSecond, 'runs/s', rpsExtra);
      const cpuPerRun = r.apiCpuMsPerRun + r.agentCpuMsPerRun + r.loadCpuMsPerRun;
      emit('api-run', 'cpu_ceiling_runs_per_s', (cpus().length * 1000) / cpuPerRun, 'runs/s', {
        ...extra,
        note: 'CPUs / (API + agent + scripts + load generator CPU per run): the most this machine could do with all of them on it',
      });
      emit('api-run', 'p50_ms', r.p50, 'ms', { ...extra, ...(UPSTREAM_P50[c] ? { upstream: UPSTREAM_P50[c] } : {}) });
      emit('api-run', 'p99_ms', r.p99, 'ms', extra);
      emit('api-run', 'api_cpu_ms_per_run', r.apiCpuMsPerRun, 'ms', extra);
      emit('api-run', 'agent_cpu_ms_per_run', r.agentCpuMsPerRun, 'ms', { ...extra, note: 'agent process and the scripts it ran' });
      emit('api-run', 'loadgen_cpu_ms_per_run', r.loadCpuMsPerRun, 'ms', { ...extra, note: 'this benchmark process (HTTP clients), sharing the same CPUs' });
      log(`api-run c${c}: ${r.perSecond.toFixed(0)} runs/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms`);
      if (c === 16) ctx.apiC16 = r.perSecond;
    }
    emit('api-run', 'api_rss_after_load', rssMb(api.pid), 'MB');
  } finally {
    await api.stop();
  }
}
