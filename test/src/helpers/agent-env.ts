/** Throwaway agent layouts: agent.conf, cert directory and state directory in a temp dir. */
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, readAudit } from './env.js';

export interface AgentEnv {
  dir: string;
  config: string;
  certDir: string;
  stateDir: string;
  auditFile: string;
  name: string;
  env: NodeJS.ProcessEnv;
  audit(): Array<Record<string, unknown>>;
  requestState(): Record<string, unknown> | undefined;
}

export function makeAgentEnv(
  t: { after: (fn: () => void) => void },
  opts: { name: string; port?: number; extra?: Record<string, string | number>; scripts?: string } = { name: 'agent' },
): AgentEnv {
  const dir = tempDir(t, 'ce-agent-');
  const certDir = join(dir, 'etc');
  const stateDir = join(dir, 'state');
  mkdirSync(certDir, { recursive: true });
  const auditFile = join(dir, 'audit.jsonl');
  const conf = {
    port: opts.port ?? 7443,
    bind: '127.0.0.1',
    hostname: opts.name,
    cert: join(certDir, 'agent.crt'),
    key: join(certDir, 'agent.key'),
    ca: join(certDir, 'ca.crt'),
    ca_dir: certDir,
    state_dir: stateDir,
    key_bits: 2048,
    syslog: 'none',
    log_json: auditFile,
    ...opts.extra,
  };
  const config = join(certDir, 'agent.conf');
  writeFileSync(config, Object.entries(conf).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
  if (opts.scripts !== undefined) writeFileSync(join(certDir, 'scripts.conf'), opts.scripts);
  const statePath = join(stateDir, 'pairing-request.json');
  return {
    dir,
    config,
    certDir,
    stateDir,
    auditFile,
    name: opts.name,
    env: { CTRL_EXEC_AGENT_CONFIG: config },
    audit: () => readAudit(auditFile),
    requestState: () => (existsSync(statePath) ? (JSON.parse(readFileSync(statePath, 'utf8')) as Record<string, unknown>) : undefined),
  };
}
