/**
 * A throwaway dispatcher (its CA and certificate made by the real CLI) and agents provisioned
 * directly with the CA (as the integration tests do: no pairing exchange), each agent a real
 * `ctrl-exec-agent serve` process on its own 127.0.0.x address.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
import { onCleanup, runNode, startNode } from './procs.mjs';

export const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
export const DISPATCHER_BIN = join(ROOT, 'packages', 'dispatcher', 'dist', 'bin', 'ctrl-exec.bundle.mjs');
export const AGENT_BIN = join(ROOT, 'packages', 'agent', 'dist', 'bin', 'ctrl-exec-agent.bundle.mjs');
export const API_BIN = join(ROOT, 'packages', 'api', 'dist', 'bin', 'ctrl-exec-api.js');

export const TRIVIAL_SCRIPT = '#!/bin/sh\necho ok\n';

function confText(entries) {
  return `${Object.entries(entries)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} = ${v}`)
    .join('\n')}\n`;
}

/** Write a ctrl-exec.conf in `dir`; returns the dispatcher's paths and environment. */
export function writeDispatcherConfig(dir, extra = {}, file = 'ctrl-exec.conf') {
  const caDir = join(dir, 'etc');
  const stateDir = join(dir, 'state');
  mkdirSync(caDir, { recursive: true });
  const config = join(dir, file);
  writeFileSync(
    config,
    confText({
      cert: join(caDir, 'dispatcher.crt'),
      key: join(caDir, 'dispatcher.key'),
      ca: join(caDir, 'ca.crt'),
      ca_dir: caDir,
      state_dir: stateDir,
      key_bits: 4096,
      dispatcher_id: 'bench-dispatcher',
      syslog: 'none',
      log_json: join(dir, 'audit.jsonl'),
      read_timeout: 30,
      ...extra,
    }),
  );
  return { dir, config, caDir, stateDir, env: { CTRL_EXEC_CONFIG: config } };
}

/** A dispatcher with its CA and certificate, made by `setup-ca` and `setup-ctrl-exec`. */
export async function makeDispatcher(dir, extra = {}) {
  const d = writeDispatcherConfig(dir, extra);
  for (const mode of ['setup-ca', 'setup-ctrl-exec']) {
    const r = await runNode(DISPATCHER_BIN, [mode], { env: d.env });
    if (r.code !== 0) throw new Error(`${mode} failed: ${r.stdout}${r.stderr}`);
  }
  d.ca = loadCa(d.caDir);
  d.serial = certInfo(readFileSync(join(d.caDir, 'dispatcher.crt'), 'utf8')).serial;
  d.registry = new Registry(join(d.stateDir, 'agents'));
  return d;
}

/** A port free on `address` right now. */
export async function freePort(address) {
  const s = net.createServer();
  await new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, address, () => resolve());
  });
  const { port } = s.address();
  await new Promise((resolve) => s.close(() => resolve()));
  return port;
}

/** `count` RSA keys generated in parallel (agents may share keys: certificates stay distinct). */
export function makeKeys(count, bits = 2048) {
  return Promise.all(Array.from({ length: count }, () => generateRsaKey(bits)));
}

/**
 * Lay out one agent under `dir` (agent.conf, scripts, certificate signed by the dispatcher's
 * CA, trusted-dispatcher map) and register it with the dispatcher. `scripts` are allowlist
 * names, all pointing at the same trivial script.
 */
export async function provisionAgent(d, dir, { name, address = '127.0.0.1', key, scripts = ['ok'], extra = {} }) {
  const certDir = join(dir, 'etc');
  const stateDir = join(dir, 'state');
  mkdirSync(certDir, { recursive: true });
  mkdirSync(stateDir, { recursive: true });
  const port = await freePort(address);
  const config = join(certDir, 'agent.conf');
  writeFileSync(
    config,
    confText({
      port,
      bind: address,
      hostname: name,
      cert: join(certDir, 'agent.crt'),
      key: join(certDir, 'agent.key'),
      ca: join(certDir, 'ca.crt'),
      ca_dir: certDir,
      state_dir: stateDir,
      key_bits: 2048,
      syslog: 'none',
      log_json: join(dir, 'audit.jsonl'),
      ...extra,
    }) + '\n[profile default]\nno_new_privileges = yes\n',
  );
  const script = join(dir, 'ok.sh');
  writeFileSync(script, TRIVIAL_SCRIPT);
  chmodSync(script, 0o755);
  const allowlist = join(certDir, 'scripts.conf');
  writeFileSync(allowlist, scripts.map((s) => `${s} = ${script}\n`).join(''));

  const issued = issueCertificate(d.ca, createCsr(key, name), { days: 30 });
  await writePrivateKey(join(certDir, 'agent.key'), key);
  writeFileSync(join(certDir, 'agent.crt'), issued.certPem);
  writeFileSync(join(certDir, 'ca.crt'), d.ca.certPem);
  addTrustedDispatcherSync(join(stateDir, 'ctrl-exec-dispatchers'), d.serial, 'bench-dispatcher');
  d.registry.put({
    hostname: name,
    ip: address,
    paired: '2026-01-01T00:00:00Z',
    expiry: issued.notAfter,
    reqid: '0000000000000000',
    lookup_by: 'ip',
    port,
    tags: {},
    dispatcher_serial: d.serial,
    serial_status: 'current',
    serial_broadcast: '',
    serial_confirmed: '',
  });
  return { name, address, port, dir, config, allowlist, env: { CTRL_EXEC_AGENT_CONFIG: config }, proc: undefined };
}

const running = new Set();
let cleanupRegistered = false;

/** An agent stopped before its own clean-up leaves its FIFO pool in /dev/shm: remove it. */
function removeFifoPool(pid) {
  if (pid === undefined || !existsSync('/dev/shm')) return;
  for (const name of readdirSync('/dev/shm')) {
    if (name.startsWith(`ctrl-exec-fifo-${pid}-`)) rmSync(join('/dev/shm', name), { recursive: true, force: true });
  }
}

/** Stop agents (SIGTERM, SIGKILL after 10 s), all at once. */
export async function stopAgents(agents) {
  await Promise.all(
    agents.map(async (a) => {
      running.delete(a);
      await a.proc?.stop(10_000);
      removeFifoPool(a.proc?.pid);
    }),
  );
}

/**
 * Start `ctrl-exec-agent serve` and wait for its listening line. Agent processes get no
 * profiler flags unless given `flags`. Agents still running at clean-up are stopped then.
 */
export async function startAgent(agent, flags = []) {
  if (!cleanupRegistered) onCleanup(() => stopAgents([...running]));
  cleanupRegistered = true;
  running.add(agent);
  agent.proc = startNode(AGENT_BIN, ['serve', '--allowlist', agent.allowlist], { env: agent.env, flags });
  await agent.proc.waitFor(/listening on/);
  return agent;
}

/** Start agents `width` at a time (a 2-core machine does not gain from more). */
export async function startAgents(agents, width = 8) {
  let next = 0;
  const worker = async () => {
    while (next < agents.length) await startAgent(agents[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(width, agents.length) }, worker));
}

/** The address of agent `i` (0-based): 127.0.0.2, 127.0.0.3, ... (up to 253 agents). */
export function agentAddress(i) {
  if (i < 0 || i > 252) throw new Error(`no 127.0.0.x address for agent ${i}`);
  return `127.0.0.${i + 2}`;
}
