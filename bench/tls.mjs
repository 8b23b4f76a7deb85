/**
 * tls: the other physical limit next to spawn-floor. The dispatcher-side (client) CPU time
 * and wall time of one mutual-TLS handshake with an agent (`ctrl-exec-agent serve`, RSA-4096
 * certificate): full handshakes with the dispatcher's RSA-4096 certificate (as shipped) and
 * with an RSA-2048 one, and resumed handshakes (TLS 1.3 session ticket). Handshakes only:
 * connect, wait for secureConnect, close. Sequential, one SecureContext per variant.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { addTrustedDispatcherSync, certInfo, createCsr, generateRsaKey, issueCertificate, TLS_POLICY } from '@ctrl-exec/core';
import { provisionAgent, startAgent, stopAgents } from './lib/fleet.mjs';
import { emit, log, median } from './lib/report.mjs';

function handshake(agent, context, session) {
  return new Promise((resolve, reject) => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let ticket;
    const socket = tls.connect({ host: agent.address, port: agent.port, secureContext: context, session, checkServerIdentity: () => undefined });
    socket.on('session', (s) => (ticket = s));
    socket.setTimeout(10_000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      const wallMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const resumed = socket.isSessionReused();
      socket.setTimeout(0);
      // TLS 1.3 tickets arrive just after the handshake: give them a moment before closing
      setTimeout(() => {
        socket.destroy();
        resolve({ wallMs, cpuMs: (cpu.user + cpu.system) / 1000, resumed, ticket });
      }, 2);
    });
  });
}

async function series(agent, context, n, resume) {
  const out = [];
  let { ticket } = await handshake(agent, context); // warm-up, and the first ticket
  for (let i = 0; i < n; i++) {
    const r = await handshake(agent, context, resume ? ticket : undefined);
    if (resume && !r.resumed) throw new Error('the agent did not resume the TLS session');
    if (r.ticket) ticket = r.ticket;
    out.push(r);
  }
  return out;
}

export async function tlsFloor(ctx) {
  const { d, agent: apiAgent } = await ctx.apiFixture();
  const ca = readFileSync(join(d.caDir, 'ca.crt'));
  const policy = { minVersion: TLS_POLICY.minVersion, maxVersion: TLS_POLICY.maxVersion, ciphers: TLS_POLICY.ciphers };
  const shipped = tls.createSecureContext({ cert: readFileSync(join(d.caDir, 'dispatcher.crt')), key: readFileSync(join(d.caDir, 'dispatcher.key')), ca, ...policy });
  const key2048 = await generateRsaKey(2048);
  const cert2048 = issueCertificate(d.ca, createCsr(key2048, 'ctrl-exec-dispatcher'), { days: 30 }).certPem;
  const small = tls.createSecureContext({ cert: cert2048, key: key2048, ca, ...policy });
  // An agent of its own (the api agent's RSA-4096 key) that also trusts the 2048-bit
  // certificate: untrusted connections would count against its rate limit.
  const agentKey = readFileSync(join(apiAgent.dir, 'etc', 'agent.key'), 'utf8');
  const agent = await provisionAgent(d, join(ctx.root, 'tls-agent'), { name: 'tls-agent', key: agentKey });
  addTrustedDispatcherSync(join(agent.dir, 'state', 'ctrl-exec-dispatchers'), certInfo(cert2048).serial, 'bench-2048');
  await startAgent(agent);
  const n = ctx.full ? 300 : 100;
  for (const [label, context, resume] of [['full_4096', shipped, false], ['full_2048', small, false], ['resumed', shipped, true]]) {
    const r = await series(agent, context, n, resume);
    const extra = { samples: n, client_key_bits: label === 'full_2048' ? 2048 : 4096, agent_key_bits: 4096, ...(label === 'full_4096' ? { design_figure: 6 } : {}) };
    emit('tls', `handshake_cpu_ms_${label}`, median(r.map((x) => x.cpuMs)), 'ms', { ...extra, note: 'dispatcher (client) CPU per handshake' });
    emit('tls', `handshake_wall_ms_${label}`, median(r.map((x) => x.wallMs)), 'ms', extra);
    log(`tls ${label}: ${median(r.map((x) => x.cpuMs)).toFixed(2)} ms CPU, ${median(r.map((x) => x.wallMs)).toFixed(2)} ms wall`);
  }
  await stopAgents([agent]);
}
