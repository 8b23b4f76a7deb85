/**
 * Agent certificate renewal (wire-protocol §4.3, features.md items 148-151): after a good
 * ping, an agent whose certificate has less than half of `cert_days` left (and nothing
 * staged yet) gets a new one for the same key: /renew gives its CSR, we sign it with the CN
 * pinned to the registry name, /renew-complete stages it on the agent.
 *
 * Only a dispatcher that can read the CA key renews (root running the CLI or maintain; the
 * API never does). Unlike upstream, the registry's expiry changes only when the agent
 * answered that it staged the certificate. Failures are logged and never change the ping.
 */
import {
  DEFAULT_RENEWAL_CERT_DAYS,
  issueCertificate,
  loadCa,
  newReqid,
  parseOpensslDate,
  type AuditEvent,
  type DispatcherConfig,
  type LoadedCa,
  type Registry,
} from '@ctrl-exec/core';
import type { AgentClient } from '../engine/agent-client.js';
import type { HostResult, ResolvedHost } from '../engine/index.js';

const DAY_MS = 86_400_000;

export interface RenewalDeps {
  config: Pick<DispatcherConfig, 'caDir' | 'certDays'>;
  registry: Registry;
  client: AgentClient;
  audit: (event: AuditEvent) => void;
  now?: () => Date;
}

/** The CA with its key, or undefined when this process may not sign (no renewal then). */
export function signingCa(caDir: string): LoadedCa | undefined {
  try {
    return loadCa(caDir);
  } catch {
    return undefined;
  }
}

/** Whether a ping result says the agent's certificate is due for renewal. */
export function renewalDue(result: HostResult, certDays: number, now: Date): boolean {
  if (result.status !== 'ok' || result.staged === true || result.staged === 1) return false;
  const expiry = typeof result.expiry === 'string' ? parseOpensslDate(result.expiry) : undefined;
  if (!expiry) return false;
  return expiry.getTime() - now.getTime() < (certDays / 2) * DAY_MS;
}

export type RenewalOutcome = { host: string; renewed: true; expiry: string } | { host: string; renewed: false; error: string };

/** Renew one agent's certificate; never throws. */
export async function renewAgent(deps: RenewalDeps, ca: LoadedCa, host: ResolvedHost): Promise<RenewalOutcome> {
  const reqid = newReqid();
  const days = deps.config.certDays ?? DEFAULT_RENEWAL_CERT_DAYS;
  const fail = (error: string): RenewalOutcome => {
    deps.audit({ action: 'renew', error, reqid, target: host.target, level: 'err' });
    return { host: host.name, renewed: false, error };
  };
  deps.audit({ action: 'renew', reqid, status: 'starting', target: host.target });
  try {
    const asked = await deps.client.call(host, 'POST', '/renew', { reqid });
    if (asked.body.status !== 'ok' || typeof asked.body.csr !== 'string') {
      return fail(typeof asked.body.error === 'string' ? asked.body.error : 'agent returned no CSR');
    }
    const issued = issueCertificate(ca, asked.body.csr, { days, expectedCn: host.name });
    const done = await deps.client.call(host, 'POST', '/renew-complete', { cert: issued.certPem, ca: ca.certPem, reqid });
    if (done.body.status !== 'ok') return fail(typeof done.body.error === 'string' ? done.body.error : 'agent did not stage the certificate');
    deps.registry.update(host.name, (r) => ({ ...r, expiry: issued.notAfter }));
    deps.audit({ action: 'renew-complete', expiry: issued.notAfter, reqid, target: host.target });
    return { host: host.name, renewed: true, expiry: issued.notAfter };
  } catch (err) {
    return fail((err as Error).message);
  }
}

/** Renew every due agent among ping results (sequentially: renewals are rare). */
export async function renewDue(deps: RenewalDeps, hosts: readonly ResolvedHost[], results: readonly HostResult[]): Promise<RenewalOutcome[]> {
  const now = deps.now ? deps.now() : new Date();
  const days = deps.config.certDays ?? DEFAULT_RENEWAL_CERT_DAYS;
  const due = hosts.filter((_h, i) => results[i] !== undefined && renewalDue(results[i]!, days, now));
  if (due.length === 0) return [];
  const ca = signingCa(deps.config.caDir);
  if (!ca) return [];
  const out: RenewalOutcome[] = [];
  for (const host of due) out.push(await renewAgent(deps, ca, host));
  return out;
}
