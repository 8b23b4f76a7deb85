/**
 * A dispatcher and N real agents on 127.0.0.1, provisioned directly with the CA (pairing
 * itself is tested in pairing-*.test.ts), each agent a real `ctrl-exec-agent serve` process.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import {
  Registry,
  addTrustedDispatcherSync,
  certInfo,
  createCsr,
  generateRsaKey,
  issueCertificate,
  loadCa,
  writePrivateKey,
} from '@ctrl-exec/core';
import { AGENT_BIN, Proc } from './cli.js';
import { makeDispatcher, type DispatcherEnv } from './env.js';
import { makeAgentEnv, type AgentEnv } from './agent-env.js';

export interface FleetAgent extends AgentEnv {
  port: number;
  scriptsConf: string;
  scriptsDir: string;
  proc?: Proc;
  start(): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Demo scripts every test agent allows. */
const SCRIPTS: Record<string, string> = {
  echo: '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n',
  fail: '#!/bin/sh\necho "about to fail" >&2\nexit 3\n',
  sleepy: '#!/bin/sh\nsleep "${1:-2}"\necho "slept ${1:-2}"\n',
  whoami: '#!/bin/sh\necho "$(cat)"\n',
};

/**
 * One agent, its certificate issued straight from the CA. `certDays` defaults to 400, past
 * the renewal window of the default cert_days (365: renew under 182.5 days left), so a
 * CLI ping does not renew it unless a test asks for a shorter certificate.
 */
export async function provisionAgent(
  t: { after: (fn: () => void | Promise<void>) => void },
  d: DispatcherEnv,
  name: string,
  extra: Record<string, string | number> = {},
  certDays = 400,
): Promise<FleetAgent> {
  const port = await freePort();
  const a = makeAgentEnv(t, { name, port, extra });
  // every profile scripts refer to must be defined, `default` included
  appendFileSync(a.config, '\n[profile default]\nno_new_privileges = yes\n');
  const scriptsDir = join(a.dir, 'scripts');
  mkdirSync(scriptsDir, { recursive: true });
  const lines: string[] = [];
  for (const [script, body] of Object.entries(SCRIPTS)) {
    const p = join(scriptsDir, `${script}.sh`);
    writeFileSync(p, body);
    chmodSync(p, 0o755);
    lines.push(`${script} = ${p}`);
  }
  const scriptsConf = join(a.certDir, 'scripts.conf');
  writeFileSync(scriptsConf, `${lines.join('\n')}\n`);

  const keyPem = await generateRsaKey(2048);
  const ca = loadCa(d.caDir);
  const issued = issueCertificate(ca, createCsr(keyPem, name), { days: certDays });
  await writePrivateKey(join(a.certDir, 'agent.key'), keyPem);
  writeFileSync(join(a.certDir, 'agent.crt'), issued.certPem);
  writeFileSync(join(a.certDir, 'ca.crt'), ca.certPem);
  const dispatcherSerial = certInfo(readFileSync(join(d.caDir, 'dispatcher.crt'), 'utf8')).serial;
  addTrustedDispatcherSync(join(a.stateDir, 'ctrl-exec-dispatchers'), dispatcherSerial, 'test-dispatcher');
  new Registry(join(d.stateDir, 'agents')).put({
    hostname: name, ip: '127.0.0.1', paired: '2026-01-01T00:00:00Z', expiry: issued.notAfter, reqid: '0000000000000000',
    lookup_by: 'ip', port, tags: {}, dispatcher_serial: dispatcherSerial, serial_status: 'current', serial_broadcast: '', serial_confirmed: '',
  });

  const agent: FleetAgent = {
    ...a,
    port,
    scriptsConf,
    scriptsDir,
    async start() {
      const proc = new Proc(AGENT_BIN, ['serve', '--allowlist', scriptsConf], { env: a.env });
      agent.proc = proc;
      await proc.waitFor(/listening on/);
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      await agent.proc?.stop(signal);
      agent.proc = undefined;
    },
  };
  // SIGTERM, so the agent removes its FIFO directory (a SIGKILL would leave it behind).
  t.after(() => agent.stop('SIGTERM'));
  return agent;
}

export async function makeFleet(
  t: { after: (fn: () => void | Promise<void>) => void },
  count: number,
  dispatcherExtra: Record<string, string | number> = {},
): Promise<{ d: DispatcherEnv; agents: FleetAgent[] }> {
  const d = await makeDispatcher(t, { read_timeout: 20, ...dispatcherExtra });
  const agents: FleetAgent[] = [];
  for (let i = 1; i <= count; i++) agents.push(await provisionAgent(t, d, `agent-${String(i).padStart(2, '0')}`));
  await Promise.all(agents.map((a) => a.start()));
  return { d, agents };
}
