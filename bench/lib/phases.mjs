/** Run a CLI once with bench/lib/timeline.mjs preloaded and turn its marks into phases (ms). */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNode, tempDir } from './procs.mjs';

const TIMELINE = join(fileURLToPath(import.meta.url), '..', 'timeline.mjs');
let dir;

export async function phasesOf(bin, args, env) {
  dir ??= tempDir('ce-bench-timeline-');
  const file = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  const r = await runNode(bin, args, { env: { ...env, CE_BENCH_TIMELINE: file }, measure: false, flags: ['--import', TIMELINE] });
  if (r.code !== 0) throw new Error(`${args.join(' ')} exited ${r.code}: ${r.stderr.slice(0, 1000)}`);
  const m = JSON.parse(readFileSync(file, 'utf8'));
  rmSync(file, { force: true });
  return {
    wall: r.wallMs,
    node_bootstrap: m.preload,
    load_and_prepare: m.dispatchStart - m.preload,
    first_tls_handshake: m.firstSecure - m.firstConnect,
    all_handshakes_done: m.lastSecure - m.dispatchStart,
    dispatch: m.dispatchFinish - m.dispatchStart,
    after_dispatch: m.exit - m.dispatchFinish,
    exit_and_reap: r.wallMs - m.exit,
  };
}

/** Per-key median of several phase records, rounded to 0.1 ms. */
export function medianPhases(list) {
  const out = {};
  for (const key of Object.keys(list[0])) {
    const v = list.map((p) => p[key]).filter(Number.isFinite).sort((a, b) => a - b);
    if (v.length) out[key] = Math.round(v[Math.floor((v.length - 1) / 2)] * 10) / 10;
  }
  return out;
}
