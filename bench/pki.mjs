/**
 * pki: `setup-ca` (RSA-4096, the default, as in production), CSR signing (`approve`, and the
 * signing alone in-process), agent key generation (4096 and 2048), and one agent's whole
 * pairing: dispatcher `pairing-mode start`, agent `request-pairing --background`, `approve` as
 * soon as the request shows in `list-requests --json`, until the agent's `paired` exits 0.
 */
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createCsr, generateRsaKey, issueCertificate } from '@ctrl-exec/core';
import { AGENT_BIN, DISPATCHER_BIN, freePort, writeDispatcherConfig } from './lib/fleet.mjs';
import { killPid, onCleanup, runNode } from './lib/procs.mjs';
import { emit, log, median, verdict } from './lib/report.mjs';

const PAIRING_TARGET_MS = 1000;
const PAIRING_UPSTREAM_MS = 3500;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const spread = (list) => ({ min: Math.round(Math.min(...list)), max: Math.round(Math.max(...list)) });

async function timeSetupCa(ctx, i) {
  const d = writeDispatcherConfig(join(ctx.root, 'pki', `ca-${i}`), { key_bits: undefined });
  const r = await runNode(DISPATCHER_BIN, ['setup-ca'], { env: d.env });
  if (r.code !== 0) throw new Error(`setup-ca failed: ${r.stderr}`);
  return r.wallMs;
}

async function timeKeygen(bits, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await generateRsaKey(bits);
    times.push(performance.now() - t0);
  }
  return times;
}

async function until(what, timeoutMs, fn) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** One pairing, approval scripted; returns the phase times (ms from the request). */
async function pairOnce(pd, dir, port, name, keyBits) {
  const certDir = join(dir, 'etc');
  const stateDir = join(dir, 'state');
  mkdirSync(certDir, { recursive: true });
  const config = join(certDir, 'agent.conf');
  const lines = [`hostname = ${name}`, 'port = 7443', 'bind = 127.0.0.1', `cert = ${certDir}/agent.crt`, `key = ${certDir}/agent.key`, `ca = ${certDir}/ca.crt`];
  lines.push(`ca_dir = ${certDir}`, `state_dir = ${stateDir}`, 'syslog = none');
  if (keyBits !== undefined) lines.push(`key_bits = ${keyBits}`); // unset: the default (4096), as in production
  writeFileSync(config, `${lines.join('\n')}\n`);
  const env = { CTRL_EXEC_AGENT_CONFIG: config };
  onCleanup(() => {
    // the background worker exits by itself after its verdict or --timeout; stop it if still waiting
    const statePath = join(stateDir, 'pairing-request.json');
    if (!existsSync(statePath)) return;
    const state = JSON.parse(readFileSync(statePath, 'utf8'));
    if (!state.outcome && Number.isInteger(state.pid)) killPid(state.pid);
  });

  const t0 = performance.now();
  const req = await runNode(AGENT_BIN, ['request-pairing', '--dispatcher', '127.0.0.1', '--port', String(port), '--background', '--timeout', '60'], { env, measure: false });
  if (req.code !== 0) throw new Error(`request-pairing failed: ${req.stderr}`);
  const reqid = req.stdout.trim();
  const requested = performance.now() - t0;
  await until('the request in list-requests', 30_000, async () => {
    const r = await runNode(DISPATCHER_BIN, ['list-requests', '--json'], { env: pd.env, measure: false });
    return r.code === 0 && JSON.parse(r.stdout).requests.some((q) => q.id === reqid);
  });
  const listed = performance.now() - t0;
  const approve = await runNode(DISPATCHER_BIN, ['approve', reqid], { env: pd.env, measure: false });
  if (approve.code !== 0) throw new Error(`approve failed: ${approve.stderr}`);
  const approved = performance.now() - t0;
  // `paired` checks that cert, key and CA exist: poll those cheaply, then let `paired` confirm
  await until('paired to exit 0', 30_000, async () => {
    if (!['agent.crt', 'agent.key', 'ca.crt'].every((f) => existsSync(join(certDir, f)))) return false;
    return (await runNode(AGENT_BIN, ['paired'], { env, measure: false })).code === 0;
  });
  const paired = performance.now() - t0;
  return { requested, listed, approved, paired, approveMs: approve.wallMs };
}

export async function pki(ctx) {
  const nCa = ctx.full ? 7 : 3;
  const ca = [];
  for (let i = 0; i < nCa; i++) ca.push(await timeSetupCa(ctx, i));
  emit('pki', 'setup_ca_ms', median(ca), 'ms', { bits: 4096, samples: nCa, ...spread(ca), note: 'whole CLI run; RSA key generation time varies widely' });

  for (const [bits, n] of [[4096, ctx.full ? 10 : 4], [2048, ctx.full ? 20 : 8]]) {
    const times = await timeKeygen(bits, n);
    emit('pki', `keygen_${bits}_ms`, median(times), 'ms', { bits, samples: n, ...spread(times), design_figure: bits === 4096 ? 600 : undefined });
  }

  const d = await ctx.dispatcher();
  const key = await generateRsaKey(4096);
  const sign = [];
  for (let i = 0; i < 20; i++) {
    const csr = createCsr(key, `sign-${i}`);
    const t0 = performance.now();
    issueCertificate(d.ca, csr, { days: 365 });
    sign.push(performance.now() - t0);
  }
  emit('pki', 'csr_sign_ms', median(sign), 'ms', { samples: sign.length, note: 'issueCertificate in-process, 4096-bit CA' });

  // The same dispatcher files; the pairing listener's per-IP rate limit (10 connections a
  // minute) is off, since every benchmark agent pairs from 127.0.0.1.
  const pd = writeDispatcherConfig(d.dir, { pairing_rate_limit_disable: 1 }, 'pairing.conf');
  const port = await freePort('127.0.0.1');
  const start = await runNode(DISPATCHER_BIN, ['pairing-mode', 'start', '--port', String(port), '--bind', '127.0.0.1', '--timeout', '300'], { env: pd.env, measure: false });
  if (start.code !== 0) throw new Error(`pairing-mode start failed: ${start.stderr}`);
  onCleanup(async () => {
    await runNode(DISPATCHER_BIN, ['pairing-mode', 'stop'], { env: pd.env, measure: false });
  });
  const nPair = ctx.full ? 7 : 3;
  const results = {};
  for (const bits of [undefined, 2048]) {
    const pairs = [];
    for (let i = 0; i < nPair; i++) {
      const name = `pair-${bits ?? 'default'}-${i}`;
      pairs.push(await pairOnce(pd, join(ctx.root, 'pki', name), port, name, bits));
      log(`${name}: ${JSON.stringify(Object.fromEntries(Object.entries(pairs.at(-1)).map(([k, v]) => [k, Math.round(v)])))}`);
    }
    results[bits ?? 4096] = pairs;
  }
  await runNode(DISPATCHER_BIN, ['pairing-mode', 'stop'], { env: pd.env, measure: false });

  const approvals = [...results[4096], ...results[2048]].map((p) => p.approveMs);
  emit('pki', 'approve_ms', median(approvals), 'ms', { samples: approvals.length, note: 'ctrl-exec approve (CLI): CSR signing and registry write' });
  for (const bits of [4096, 2048]) {
    const pairs = results[bits];
    const med = (k) => median(pairs.map((p) => p[k]));
    const total = med('paired');
    const extra = bits === 4096 ? { target: `<= ${PAIRING_TARGET_MS}`, verdict: verdict(total, { max: PAIRING_TARGET_MS }), upstream: PAIRING_UPSTREAM_MS } : { note: 'agent key_bits = 2048 (the minimum), for comparison' };
    emit('pki', bits === 4096 ? 'pairing_ms' : 'pairing_ms_2048', total, 'ms', {
      samples: nPair,
      ...spread(pairs.map((p) => p.paired)),
      agent_key_bits: bits,
      phases_ms: { request_acknowledged: Math.round(med('requested')), listed: Math.round(med('listed')), approved: Math.round(med('approved')), paired: Math.round(total) },
      ...extra,
    });
  }
}
