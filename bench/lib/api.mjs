/** ctrl-exec-api as a separate process on 127.0.0.1 (any free port), for load from this process. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { API_BIN, writeDispatcherConfig } from './fleet.mjs';
import { startNode } from './procs.mjs';

export const apiAvailable = () => existsSync(API_BIN);

/**
 * Start the API on dispatcher `d`'s CA, certificate and state, with a config file of its own
 * (`extra` keys added, e.g. agent_keepalive = 0). Auth is open (api_auth_default = allow):
 * the benchmark measures dispatching, not an auth hook.
 */
export async function startApi(d, name, extra = {}) {
  const { config } = writeDispatcherConfig(d.dir, { api_port: 0, api_bind: '127.0.0.1', api_auth_default: 'allow', log_json: join(d.dir, `${name}-audit.jsonl`), ...extra }, `${name}.conf`);
  const proc = startNode(API_BIN, ['--config', config]);
  const m = await proc.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
  if (/unknown key/.test(proc.stderr)) throw new Error(`ctrl-exec-api ignored a key of ${config}: ${proc.stderr.trim()}`);
  return { proc, pid: proc.pid, url: `http://127.0.0.1:${m[1]}`, stop: () => proc.stop() };
}
