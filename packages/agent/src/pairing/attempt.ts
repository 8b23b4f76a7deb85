/**
 * One pairing attempt up to the dispatcher's acknowledgement: probe the port, make the key
 * and CSR (in memory only), connect, send the request. What comes back holds the open
 * connection; the verdict is awaited separately, so a background worker can report the
 * reqid first.
 */
import { createCsr, generateRsaKey, newNonce, pairingCode } from '@ctrl-exec/core';
import { PairingConnection, ACK_TIMEOUT_MS, type ApprovedVerdict, type PairingRequestBody } from './connection.js';
import { probeTcp, resolveDispatcher, PROBE_TIMEOUT_MS } from './probe.js';
import type { LookupBy } from './options.js';

export interface PairingAttemptOptions {
  /** The dispatcher's host name or address and its pairing port. */
  dispatcher: string;
  port: number;
  lookupBy?: LookupBy;
  /** The CN of the CSR and the `hostname` of the request. */
  agentName: string;
  /** agent.conf `port`: sent as a string, as upstream does. */
  agentPort: number | string;
  keyBits: number;
  /** Called with the six-digit code of the exact CSR sent, before connecting. */
  onCode?: (code: string) => void;
  probeTimeoutMs?: number;
  ackTimeoutMs?: number;
}

export interface PendingPairing {
  reqid: string;
  nonce: string;
  code: string;
  agentName: string;
  /** PKCS#8 PEM; never written anywhere until the approval has been checked. */
  keyPem: string;
  csrPem: string;
  /** The request body as sent. */
  body: PairingRequestBody;
  /** Wait for the verdict; see PairingConnection.verdict. */
  verdict(options?: { timeoutMs?: number; inactivityMs?: number; signal?: AbortSignal }): Promise<ApprovedVerdict>;
  close(): void;
}

/** Throws PairingError with the upstream diagnostics (resolve / connect / not a pairing listener / dispatcher error). */
export async function submitPairingRequest(opts: PairingAttemptOptions): Promise<PendingPairing> {
  const target = await resolveDispatcher(opts.dispatcher);
  await probeTcp(target, opts.port, opts.probeTimeoutMs ?? PROBE_TIMEOUT_MS);

  const keyPem = await generateRsaKey(opts.keyBits);
  const csrPem = createCsr(keyPem, opts.agentName);
  const code = pairingCode(csrPem);
  const nonce = newNonce();
  opts.onCode?.(code);

  const ackTimeoutMs = opts.ackTimeoutMs ?? ACK_TIMEOUT_MS;
  const connection = await PairingConnection.open(target, opts.port, { timeoutMs: ackTimeoutMs });
  const body: PairingRequestBody = {
    hostname: opts.agentName,
    csr: csrPem,
    nonce,
    port: String(opts.agentPort),
    ip: connection.localAddress,
    ...(opts.lookupBy ? { lookup_by: opts.lookupBy } : {}),
  };
  const { reqid } = await connection.request(body, ackTimeoutMs);
  return {
    reqid,
    nonce,
    code,
    agentName: opts.agentName,
    keyPem,
    csrPem,
    body,
    verdict: (options) => connection.verdict(nonce, options),
    close: () => connection.close(),
  };
}
