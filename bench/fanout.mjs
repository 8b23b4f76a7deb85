/**
 * fanout: `ctrl-exec run` across N agents, each a separate `ctrl-exec-agent serve` on its own
 * 127.0.0.x address: wall time, CPU time (user+sys) and peak RSS of the dispatcher process.
 * Agents share a handful of 2048-bit keys (certificates are distinct): provisioning speed
 * only, the handshakes are the same.
 *
 * Each size is measured warm (the dispatcher resumes the TLS sessions its previous run saved
 * in state_dir/tls-sessions.json, as when an operator runs commands one after another) and
 * cold (that file removed before each run: a full handshake with every agent).
 */
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { DISPATCHER_BIN, agentAddress, makeKeys, provisionAgent, startAgents, stopAgents } from './lib/fleet.mjs';
import { medianPhases, phasesOf } from './lib/phases.mjs';
import { cpuMsOf, runNode } from './lib/procs.mjs';
import { emit, log, median, verdict } from './lib/report.mjs';

const TARGETS = { 1: 100, 50: 500, 200: 1500 };
const UPSTREAM = { 10: 408, 50: 1780 };
const TARGET_RSS_200 = 150;
const UPSTREAM_PING_50 = 3000;

export async function fanout(ctx) {
  const sizes = ctx.full ? [10, 50, 200] : [10, 50];
  const repeats = ctx.full ? 10 : 5;
  const max = Math.max(...sizes);
  const d = await ctx.dispatcher();
  log(`fanout: provisioning ${max} agents on 127.0.0.2-${agentAddress(max - 1).split('.').pop()}`);
  const keys = await makeKeys(Math.min(8, max), 2048);
  const agents = [];
  for (let i = 0; i < max; i++) {
    const name = `fan-${String(i + 1).padStart(3, '0')}`;
    agents.push(await provisionAgent(d, join(ctx.root, 'fanout', name), { name, address: agentAddress(i), key: keys[i % keys.length] }));
  }
  try {
    await startAgents(agents);
    log(`fanout: ${max} agents listening`);
    for (const n of sizes) {
      const hosts = agents.slice(0, n).map((a) => a.name);
      await runNode(DISPATCHER_BIN, ['run', ...hosts, 'ok'], { env: d.env }); // warm-up
      const agentsCpu = () => agents.slice(0, n).reduce((sum, a) => sum + cpuMsOf(a.proc.pid, { children: true }), 0);
      for (const cold of [false, true]) {
        const suffix = cold ? '_cold' : '';
        const runs = [];
        const agentsCpu0 = agentsCpu();
        for (let i = 0; i < repeats; i++) {
          if (cold) rmSync(join(d.stateDir, 'tls-sessions.json'), { force: true });
          const r = await runNode(DISPATCHER_BIN, ['--json', 'run', ...hosts, 'ok'], { env: d.env });
          if (r.code !== 0) throw new Error(`run to ${n} agents exited ${r.code}: ${r.stderr.slice(0, 2000)}`);
          runs.push(r);
        }
        const agentsCpuPerRun = (agentsCpu() - agentsCpu0) / repeats;
        const wall = median(runs.map((r) => r.wallMs));
        const extra = { agents: n, samples: repeats, tls: cold ? 'full handshakes (no saved sessions)' : 'sessions resumed from the previous run' };
        const wallExtra = { ...extra };
        if (TARGETS[n] !== undefined) Object.assign(wallExtra, { target: `<= ${TARGETS[n]}`, verdict: verdict(wall, { max: TARGETS[n] }) });
        if (UPSTREAM[n] !== undefined) wallExtra.upstream = UPSTREAM[n];
        emit('fanout', `wall_ms${suffix}`, wall, 'ms', wallExtra);
        if (runs[0].cpuMs !== undefined) {
          const rss = Math.max(...runs.map((r) => r.maxRssMb));
          const cpu = median(runs.map((r) => r.cpuMs));
          emit('fanout', `dispatcher_cpu_ms${suffix}`, cpu, 'ms', { ...extra, per_agent_ms: Number((cpu / n).toFixed(2)) });
          emit('fanout', `agents_cpu_ms${suffix}`, agentsCpuPerRun, 'ms', { ...extra, note: 'all agents together, scripts included, per fan-out (mean)' });
          emit('fanout', `cpu_floor_ms${suffix}`, (cpu + agentsCpuPerRun) / cpus().length, 'ms', { ...extra, note: '(dispatcher + agents CPU) / CPUs: the wall time below which this machine cannot go with every agent on it' });
          emit('fanout', `dispatcher_peak_rss${suffix}`, rss, 'MB', { ...extra, ...(n === 200 ? { target: `<= ${TARGET_RSS_200}`, verdict: verdict(rss, { max: TARGET_RSS_200 }) } : {}) });
        }
        log(`fanout ${n}${cold ? ' cold' : ''}: median ${wall.toFixed(0)} ms`);
      }
      const phases = [];
      for (let i = 0; i < (ctx.full ? 3 : 1); i++) phases.push(await phasesOf(DISPATCHER_BIN, ['--json', 'run', ...hosts, 'ok'], d.env));
      const p = medianPhases(phases);
      emit('fanout', 'phases', p.wall, 'ms', { agents: n, samples: phases.length, phases_ms: p, note: 'with bench/lib/timeline.mjs preloaded' });
      log(`fanout ${n}: phases ${JSON.stringify(p)}`);
      if (n === 50) {
        const pings = [];
        for (let i = 0; i < Math.min(repeats, 5); i++) pings.push((await runNode(DISPATCHER_BIN, ['ping', ...hosts], { env: d.env })).wallMs);
        emit('fanout', 'ping_wall_ms', median(pings), 'ms', { agents: n, samples: pings.length, upstream: UPSTREAM_PING_50 });
      }
    }
  } finally {
    await stopAgents(agents);
  }
}
