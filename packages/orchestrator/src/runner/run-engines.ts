/** Run the requested engines on one workspace, in parallel, and read their reports. */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding } from '../finding.js';
import { ScanParseError } from '../parsers/types.js';
import { ENGINES, imageFor, type EngineSpec } from './engines.js';
import { execute } from './execute.js';
import type { ScanConfig } from './scan-config.js';

export type EngineOutcome =
  | { engine: string; ok: true; findings: Finding[]; durationMs: number }
  | { engine: string; ok: false; error: string; durationMs: number };

/** Where the workspace appears inside an engine's container. */
const CONTAINER_SRC = '/src';

function commandFor(spec: EngineSpec, dir: string, config: ScanConfig, env: NodeJS.ProcessEnv): [string, string[]] {
  if (config.engineMode === 'local') return [config.engines[spec.name]?.command ?? spec.binary, spec.args(dir)];
  const image = imageFor(spec, config.engines[spec.name]?.image, env);
  return [
    config.containerRuntime,
    [
      'run', '--rm', '--pull=missing',
      '--network', spec.network ? 'bridge' : 'none',
      '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
      '--read-only', '--tmpfs', '/tmp', '--env', 'HOME=/tmp',
      '--volume', `${dir}:${CONTAINER_SRC}:ro`, '--workdir', CONTAINER_SRC,
      image, ...spec.args(CONTAINER_SRC),
    ],
  ];
}

async function runOne(spec: EngineSpec, dir: string, config: ScanConfig, env: NodeJS.ProcessEnv): Promise<EngineOutcome> {
  const started = Date.now();
  const done = (o: { ok: true; findings: Finding[] } | { ok: false; error: string }): EngineOutcome => ({ engine: spec.name, ...o, durationMs: Date.now() - started });
  // Engines keep caches and settings under HOME: a private one per run.
  const home = mkdtempSync(join(config.workDir, `ctrl-exec-scan-home-${spec.name}-`));
  try {
    const [command, args] = commandFor(spec, dir, config, env);
    const r = await execute(command, args, { cwd: dir, env: { ...env, HOME: home }, timeoutMs: config.scanTimeoutMs });
    if (r.spawnError) return done({ ok: false, error: `cannot run ${command} (${r.spawnError === 'ENOENT' ? 'not installed' : r.spawnError})` });
    if (r.timedOut) return done({ ok: false, error: `timed out after ${config.scanTimeoutMs / 1000}s` });
    if (r.overflow) return done({ ok: false, error: 'report too large' });
    if (r.code === null || !spec.okExits.includes(r.code)) {
      const why = r.stderrTail.trim().split('\n').slice(-2).join(' ').slice(0, 400);
      return done({ ok: false, error: `exited ${r.code ?? r.signal}${why ? `: ${why}` : ''}` });
    }
    try {
      return done({ ok: true, findings: spec.parser.parse(r.stdout) });
    } catch (err) {
      return done({ ok: false, error: err instanceof ScanParseError ? err.message : `unreadable report: ${(err as Error).message}` });
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

export function runEngines(engines: readonly string[], dir: string, config: ScanConfig, env: NodeJS.ProcessEnv): Promise<EngineOutcome[]> {
  return Promise.all(engines.map((name) => runOne(ENGINES[name]!, dir, config, env)));
}
