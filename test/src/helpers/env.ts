/** Throwaway dispatcher and agent layouts in temp directories: no root, nothing outside. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ced } from './cli.js';

export interface DispatcherEnv {
  dir: string;
  config: string;
  stateDir: string;
  caDir: string;
  auditFile: string;
  env: NodeJS.ProcessEnv;
  audit(): Array<Record<string, unknown>>;
}

export function tempDir(t: { after: (fn: () => void) => void }, prefix = 'ce-it-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function readAudit(file: string): Array<Record<string, unknown>> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function writeDispatcherConfig(dir: string, extra: Record<string, string | number> = {}): DispatcherEnv {
  const caDir = join(dir, 'etc');
  const stateDir = join(dir, 'state');
  mkdirSync(caDir, { recursive: true });
  const auditFile = join(dir, 'audit.jsonl');
  const lines = {
    cert: join(caDir, 'dispatcher.crt'),
    key: join(caDir, 'dispatcher.key'),
    ca: join(caDir, 'ca.crt'),
    ca_dir: caDir,
    state_dir: stateDir,
    key_bits: 2048,
    dispatcher_id: 'test-dispatcher',
    syslog: 'none',
    log_json: auditFile,
    ...extra,
  };
  const config = join(dir, 'ctrl-exec.conf');
  writeFileSync(config, Object.entries(lines).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
  return { dir, config, stateDir, caDir, auditFile, env: { CTRL_EXEC_CONFIG: config }, audit: () => readAudit(auditFile) };
}

/** A dispatcher with its CA and own certificate, ready to pair. */
export async function makeDispatcher(t: { after: (fn: () => void) => void }, extra: Record<string, string | number> = {}): Promise<DispatcherEnv> {
  const d = writeDispatcherConfig(tempDir(t, 'ce-disp-'), extra);
  for (const mode of ['setup-ca', 'setup-ctrl-exec']) {
    const r = await ced([mode], { env: d.env });
    if (r.code !== 0) throw new Error(`${mode} failed: ${r.stdout}${r.stderr}`);
  }
  return d;
}
