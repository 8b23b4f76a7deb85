/**
 * cli-run: wall time of `ctrl-exec run <agent> ok` as a fresh process each time (the bundled
 * binary), its CPU time and peak RSS. For scale: Node's own start-up (an empty module) and
 * `ctrl-exec --help` (start-up plus loading the bundle); where the time goes (phases from a
 * preloaded timeline); the same run without the JSON audit log; and cold runs, whose TLS
 * session file was removed first (a full handshake, as the first command after a while).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DISPATCHER_BIN, writeDispatcherConfig } from './lib/fleet.mjs';
import { medianPhases, phasesOf } from './lib/phases.mjs';
import { runNode, tempDir } from './lib/procs.mjs';
import { emit, log, median, percentile, verdict } from './lib/report.mjs';

const TARGET_MS = 100;
const UPSTREAM_MS = 145;
const SAMPLES = 20;

async function walls(bin, args, env, n, flags) {
  const runs = [];
  for (let i = 0; i < n; i++) {
    const r = await runNode(bin, args, { env, ...(flags ? { flags } : {}) });
    if (r.code !== 0) throw new Error(`${args.join(' ')} exited ${r.code}: ${r.stdout}${r.stderr}`);
    runs.push(r);
  }
  return runs;
}

export async function cliRun(ctx) {
  const { d, agent } = await ctx.apiFixture();
  const empty = join(tempDir(), 'empty.mjs');
  writeFileSync(empty, '');
  const baseline = median((await walls(empty, [], {}, SAMPLES, [])).map((r) => r.wallMs));
  emit('cli-run', 'node_startup_ms', baseline, 'ms', { samples: SAMPLES, design_figure: 40, note: 'node running an empty module' });
  const help = median((await walls(DISPATCHER_BIN, ['--help'], d.env, 10, [])).map((r) => r.wallMs));
  emit('cli-run', 'help_ms', help, 'ms', { samples: 10, note: 'ctrl-exec --help: start-up and loading the bundle, no work' });

  const args = ['run', agent.name, 'ok'];
  const noJson = writeDispatcherConfig(d.dir, { log_json: undefined }, 'no-json-audit.conf');
  await runNode(DISPATCHER_BIN, args, { env: d.env }); // warm the page cache
  // The comparison runs are interleaved with the measured ones, so drift hits both alike.
  const runs = [];
  const quietRuns = [];
  const coldRuns = [];
  const sessions = join(d.stateDir, 'tls-sessions.json');
  for (let i = 0; i < SAMPLES; i++) {
    runs.push(...(await walls(DISPATCHER_BIN, args, d.env, 1)));
    if (i % 2 === 1) {
      quietRuns.push(...(await walls(DISPATCHER_BIN, args, noJson.env, 1)));
    } else {
      rmSync(sessions, { force: true });
      coldRuns.push(...(await walls(DISPATCHER_BIN, args, d.env, 1)));
    }
  }
  const wall = median(runs.map((r) => r.wallMs));
  emit('cli-run', 'wall_ms', wall, 'ms', {
    samples: SAMPLES,
    p90: Math.round(percentile(runs.map((r) => r.wallMs), 90)),
    target: `<= ${TARGET_MS}`,
    verdict: verdict(wall, { max: TARGET_MS }),
    upstream: UPSTREAM_MS,
    note: 'audit log to a JSON file (syslog none); TLS session resumed from the previous run',
  });
  emit('cli-run', 'wall_over_node_startup_ms', wall - baseline, 'ms', { note: 'what ctrl-exec adds to an empty node process started the same way, same run' });
  const cold = median(coldRuns.map((r) => r.wallMs));
  emit('cli-run', 'wall_ms_cold', cold, 'ms', { samples: coldRuns.length, note: 'same, with state_dir/tls-sessions.json removed before each run: a full TLS handshake' });
  if (runs[0].cpuMs !== undefined) {
    emit('cli-run', 'cpu_ms', median(runs.map((r) => r.cpuMs)), 'ms', { samples: SAMPLES, note: 'user+sys of the ctrl-exec process' });
    emit('cli-run', 'peak_rss', Math.max(...runs.map((r) => r.maxRssMb)), 'MB', { samples: SAMPLES });
  }

  const phases = [];
  for (let i = 0; i < 5; i++) phases.push(await phasesOf(DISPATCHER_BIN, args, d.env));
  emit('cli-run', 'phases', medianPhases(phases).wall, 'ms', { samples: phases.length, phases_ms: medianPhases(phases), note: 'with bench/lib/timeline.mjs preloaded' });

  const quiet = median(quietRuns.map((r) => r.wallMs));
  emit('cli-run', 'wall_ms_without_json_audit', quiet, 'ms', { samples: quietRuns.length, note: 'same run, log_json unset and syslog none: no audit sink' });
  log(`cli-run: median ${wall.toFixed(1)} ms (cold ${cold.toFixed(1)} ms, node start-up ${baseline.toFixed(1)} ms, --help ${help.toFixed(1)} ms, without JSON audit ${quiet.toFixed(1)} ms)`);
}
