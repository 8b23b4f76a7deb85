#!/usr/bin/env node
/**
 * ctrl-exec benchmarks (DESIGN §6). Usage:
 *   npm run bench                      quick profile (under 3 minutes on 2 cores)
 *   npm run bench -- --full            longer windows, 200-agent fan-out, more samples
 *   npm run bench -- --only=api-run,pool
 *   npm run bench -- --cpu-prof=DIR    write V8 CPU profiles of the CLI and API processes to DIR
 * Every figure is one JSON line on stdout (use `npm run --silent bench > run.jsonl`, then
 * `node bench/summary.mjs run.jsonl`); progress goes to stderr. Benchmarks, in order: the
 * physical floors (spawn-floor, tls, fs-floor), api-run, pool, cli-run, fanout, agent-idle,
 * pki. bench/RESULTS.md has the figures of this machine and what they mean.
 */
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { agentIdle } from './agent-idle.mjs';
import { apiRun } from './api-run.mjs';
import { cliRun } from './cli-run.mjs';
import { fanout } from './fanout.mjs';
import { makeDispatcher, makeKeys, provisionAgent, startAgent } from './lib/fleet.mjs';
import { startMeter } from './lib/machine.mjs';
import { cleanup, installSignalHandlers, nodeFlags, tempDir } from './lib/procs.mjs';
import { emit, log } from './lib/report.mjs';
import { fsFloor } from './fs-floor.mjs';
import { pki } from './pki.mjs';
import { pool } from './pool.mjs';
import { spawnFloor } from './spawn-floor.mjs';
import { tlsFloor } from './tls.mjs';

const BENCHES = {
  'spawn-floor': spawnFloor,
  tls: tlsFloor,
  'fs-floor': fsFloor,
  'api-run': apiRun,
  pool,
  'cli-run': cliRun,
  fanout,
  'agent-idle': agentIdle,
  pki,
};

function parseArgs(argv) {
  const opts = { full: false, only: Object.keys(BENCHES), cpuProf: undefined };
  for (const arg of argv) {
    if (arg === '--full') opts.full = true;
    else if (arg.startsWith('--only=')) opts.only = arg.slice(7).split(',').filter(Boolean);
    else if (arg === '--cpu-prof' || arg.startsWith('--cpu-prof=')) opts.cpuProf = resolve(arg.includes('=') ? arg.slice(11) : 'bench/profiles');
    else throw new Error(`unknown argument '${arg}' (--full, --only=a,b, --cpu-prof[=DIR])`);
  }
  for (const name of opts.only) if (!BENCHES[name]) throw new Error(`unknown benchmark '${name}' (${Object.keys(BENCHES).join(', ')})`);
  return opts;
}

/** State shared by the benchmarks: one dispatcher, one agent allowing t1..t64 (made on first use). */
function makeContext(opts) {
  const root = tempDir();
  const once = (fn) => {
    let p;
    return () => (p ??= fn());
  };
  const ctx = {
    full: opts.full,
    root,
    dispatcher: once(async () => {
      log('setting up a dispatcher (setup-ca, setup-ctrl-exec, RSA-4096 as in production)');
      return makeDispatcher(`${root}/dispatcher`);
    }),
    apiFixture: once(async () => {
      const d = await ctx.dispatcher();
      const [key] = await makeKeys(1, 4096);
      const scripts = ['ok', ...Array.from({ length: 64 }, (_, i) => `t${i + 1}`)];
      const agent = await provisionAgent(d, `${root}/api-agent`, { name: 'api-agent', address: '127.0.0.1', key, scripts });
      await startAgent(agent);
      return { d, agent };
    }),
  };
  return ctx;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  installSignalHandlers();
  if (opts.cpuProf) {
    mkdirSync(opts.cpuProf, { recursive: true });
    nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProf}`);
    log(`CPU profiles of the CLI and API processes go to ${opts.cpuProf}`);
  }
  log(`profile ${opts.full ? 'full' : 'quick'}; ${cpus().length} CPUs; node ${process.version}`);
  emit('meta', 'machine', `${cpus().length} x ${cpus()[0]?.model ?? '?'}`, 'text', { node: process.version, profile: opts.full ? 'full' : 'quick', date: new Date().toISOString() });
  const ctx = makeContext(opts);
  let failed = 0;
  const started = performance.now();
  try {
    for (const name of opts.only) {
      const t0 = performance.now();
      const meter = startMeter();
      log(`--- ${name}`);
      try {
        await BENCHES[name](ctx);
      } catch (err) {
        failed++;
        log(`${name} failed: ${err.stack ?? err}`);
        emit(name, 'error', String(err.message ?? err), 'text');
      }
      const { foreignShare, load } = meter();
      emit(name, 'foreign_cpu_share', foreignShare, 'fraction', { loadavg: load, note: 'CPU used by processes other than the benchmark and its descendants, as a share of the machine (detached helpers such as background pairing workers count here)' });
      if (foreignShare > 0.05) log(`${name}: other processes used ${(foreignShare * 100).toFixed(0)}% of the machine meanwhile; figures may be low`);
      log(`${name} took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    await cleanup();
  }
  log(`all done in ${((performance.now() - started) / 1000).toFixed(1)} s${failed ? `, ${failed} benchmark(s) failed` : ''}`);
  process.exitCode = failed ? 1 : 0;
}

main().catch(async (err) => {
  log(err.stack ?? String(err));
  await cleanup();
  process.exitCode = 2;
});
