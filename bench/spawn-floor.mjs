/**
 * spawn-floor: how fast this machine can run the trivial script at all, straight from Node
 * (`child_process.spawn`, wait for exit). This is the physical floor `api-run` is compared with.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { TRIVIAL_SCRIPT, ROOT } from './lib/fleet.mjs';
import { cpuMsOf, tempDir } from './lib/procs.mjs';
import { emit, log, median } from './lib/report.mjs';

function runOnce(script) {
  return new Promise((resolve, reject) => {
    const child = spawn(script, [], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
  });
}

async function loop(script, concurrency, maxRuns, durationMs) {
  let runs = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const worker = async () => {
    while (runs < maxRuns && performance.now() < deadline) {
      runs++;
      await runOnce(script);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { runs, perSecond: (runs * 1000) / (performance.now() - started) };
}

/**
 * What the agent's FIFO-backed script stdio costs against plain socket pairs: the same
 * runScript, interleaved run by run so that load from elsewhere weighs on both alike.
 */
async function fifoVersusSocket(script, runs) {
  const core = (file) => import(pathToFileURL(join(ROOT, 'packages', 'core', 'dist', 'exec', file)).href);
  const { runScriptWith } = await core('run-script.js');
  const { FifoPool } = await core('fifo-pool.js');
  const parentDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'ce-bench-fifo-'));
  const pool = new FifoPool({ parentDir });
  const opts = { path: script, args: [], stdin: '{}\n' };
  try {
    for (let i = 0; i < 10; i++) {
      await runScriptWith(opts, pool);
      await runScriptWith(opts, null);
    }
    let fifoMs = 0;
    let socketMs = 0;
    for (let i = 0; i < runs; i++) {
      let t0 = performance.now();
      if ((await runScriptWith(opts, pool)).exit !== 0) throw new Error('trivial script failed on FIFO stdio');
      fifoMs += performance.now() - t0;
      t0 = performance.now();
      if ((await runScriptWith(opts, null)).exit !== 0) throw new Error('trivial script failed on socket stdio');
      socketMs += performance.now() - t0;
    }
    return { fifo: fifoMs / runs, socket: socketMs / runs };
  } finally {
    await pool.idle();
    pool.dispose();
    rmSync(parentDir, { recursive: true, force: true });
  }
}

export async function spawnFloor(ctx) {
  const dir = tempDir();
  const script = join(dir, 'ok.sh');
  writeFileSync(script, TRIVIAL_SCRIPT);
  chmodSync(script, 0o755);
  const durationMs = ctx.full ? 8000 : 3000;
  await loop(script, 4, 100, 2000); // warm-up

  const latencies = [];
  const seqStart = performance.now();
  while (latencies.length < 5000 && performance.now() - seqStart < durationMs) {
    const t0 = performance.now();
    await runOnce(script);
    latencies.push(performance.now() - t0);
  }
  const seqRate = (latencies.length * 1000) / (performance.now() - seqStart);
  emit('spawn-floor', 'runs_per_s', seqRate, 'runs/s', { concurrency: 1, runs: latencies.length, upstream_machine_floor: 820 });
  emit('spawn-floor', 'spawn_ms_p50', median(latencies), 'ms', { concurrency: 1, design_figure: 1.6 });

  const cpu0 = cpuMsOf(process.pid, { children: true });
  const c16 = await loop(script, 16, 50_000, durationMs);
  const cpuPerRun = (cpuMsOf(process.pid, { children: true }) - cpu0) / c16.runs;
  emit('spawn-floor', 'runs_per_s', c16.perSecond, 'runs/s', { concurrency: 16, runs: c16.runs });
  emit('spawn-floor', 'cpu_ms_per_run', cpuPerRun, 'ms', { concurrency: 16, note: 'this process and the scripts: the CPU one run of the trivial script costs' });
  log(`spawn floor: ${seqRate.toFixed(0)}/s sequential, ${c16.perSecond.toFixed(0)}/s at 16`);
  ctx.spawnFloor = { c1: seqRate, c16: c16.perSecond };

  const stdio = await fifoVersusSocket(script, ctx.full ? 1000 : 300);
  emit('spawn-floor', 'run_script_ms', stdio.fifo, 'ms', { stdio: 'fifo', note: 'core runScript with the FIFO pool the agent uses, mean of sequential runs' });
  emit('spawn-floor', 'run_script_ms', stdio.socket, 'ms', { stdio: 'socket', note: 'same runs, interleaved, with socket-pair stdio' });
  emit('spawn-floor', 'fifo_stdio_extra_ms', stdio.fifo - stdio.socket, 'ms', { note: 'FIFO stdio minus socket stdio per run; it should stay well under 1 ms' });
  log(`runScript: FIFO ${stdio.fifo.toFixed(2)} ms, socket ${stdio.socket.toFixed(2)} ms per run`);
}
