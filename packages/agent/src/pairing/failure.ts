/**
 * How a pairing attempt can end badly, with the exact one-line messages operators and
 * orchestration scripts see (features 17, 20, 35, 36).
 */
import { CtrlExecError, type ErrorCode } from '@ctrl-exec/core';

/** What a background pairing worker records for an attempt that did not end in approval. */
export type PairingOutcomeKind = 'denied' | 'timeout' | 'failed';

/**
 * A pairing failure. `reason` is the bare reason (audit REASON, state file); `message` the
 * line printed on stderr.
 */
export class PairingError extends CtrlExecError {
  readonly reason: string;
  readonly outcome: PairingOutcomeKind;

  constructor(code: ErrorCode, reason: string, options: { outcome?: PairingOutcomeKind; message?: string; cause?: unknown } = {}) {
    super(code, options.message ?? `Pairing failed: ${reason}`, { cause: options.cause, details: { reason } });
    this.name = 'PairingError';
    this.reason = reason;
    this.outcome = options.outcome ?? 'failed';
  }
}

/** Make text received from the network or the system safe for one terminal line. */
export function printable(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

export function unresolvable(host: string, cause?: unknown): PairingError {
  return new PairingError('CE_ERR_UNREACHABLE', `could not resolve ctrl-exec hostname '${printable(host)}'.`, { cause });
}

export function unreachable(host: string, port: number, cause?: unknown): PairingError {
  return new PairingError('CE_ERR_UNREACHABLE', `could not connect to ctrl-exec at ${printable(host)}:${port}.`, { cause });
}

export function notPairingListener(host: string, port: number, cause?: unknown): PairingError {
  return new PairingError('CE_ERR_PROTOCOL', `reached ${printable(host)}:${port}, but it is not responding as a pairing listener.`, { cause });
}

/** The dispatcher answered the request with `{"status":"error","reason":...}`. */
export function rejectedByDispatcher(reason: string): PairingError {
  return new PairingError(/queue full/i.test(reason) ? 'CE_ERR_OVERLOAD' : 'CE_ERR_BAD_REQUEST', printable(reason));
}

/** The operator (or the dispatcher's own timeout) denied the request. */
export function denied(reason: string): PairingError {
  const r = printable(reason);
  return new PairingError('CE_ERR_AUTH_DENIED', r, { outcome: 'denied', message: `Pairing denied: ${r}` });
}

export function nonceMismatch(): PairingError {
  return new PairingError('CE_ERR_PROTOCOL', 'nonce mismatch in pairing result');
}

export function verdictTimeout(seconds: number): PairingError {
  return new PairingError('CE_ERR_TIMEOUT', `no verdict from ctrl-exec within ${seconds} second${seconds === 1 ? '' : 's'}.`, { outcome: 'timeout' });
}

/** The connection broke or carried something unreadable after the request was acknowledged. */
export function badVerdict(what: string, cause?: unknown): PairingError {
  return new PairingError('CE_ERR_PROTOCOL', what, { cause });
}

/** The approved certificate does not fit our key, CA or name: nothing is stored. */
export function badCertificate(what: string, cause?: unknown): PairingError {
  return new PairingError('CE_ERR_TLS', what, { cause });
}
