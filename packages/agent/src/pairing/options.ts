/** The request-pairing command line, validated before anything touches the disk or the network. */
import { UsageError } from '@ctrl-exec/core';

export const DEFAULT_PAIRING_PORT = 7444;
/** Seconds a background worker waits for the verdict when --timeout is not given (upstream). */
export const DEFAULT_BACKGROUND_TIMEOUT = 30;
/** The dispatcher answers within 600 s; a longer wait could only end with a closed connection. */
export const MAX_PAIRING_TIMEOUT = 600;

export type LookupBy = 'ip' | 'hostname';

export interface PairingRequestOptions {
  /** The dispatcher's host name or address. */
  dispatcher: string;
  /** Its pairing port. */
  port: number;
  /** Hint for how the dispatcher should reach this agent; sent only when given. */
  lookupBy?: LookupBy;
  background: boolean;
  /**
   * Seconds to wait for the verdict after the request is acknowledged: always set in
   * background mode (default 30); in the foreground only when given.
   */
  timeout?: number;
}

export interface RawPairingOptions {
  dispatcher?: unknown;
  ctrlExec?: unknown;
  port?: unknown;
  lookupBy?: unknown;
  background?: unknown;
  timeout?: unknown;
}

const HOST = /^[A-Za-z0-9._:%-]+$/;

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Throws UsageError (exit 2) for anything wrong with the options. */
export function parsePairingOptions(raw: RawPairingOptions): PairingRequestOptions {
  const a = str(raw.dispatcher);
  const b = str(raw.ctrlExec);
  if (a !== undefined && b !== undefined && a !== b) {
    throw new UsageError('--dispatcher and --ctrl-exec name different hosts; give one of them');
  }
  let dispatcher = a ?? b;
  if (dispatcher === undefined || dispatcher === '') throw new UsageError('--dispatcher <host> required for request-pairing');
  const bracketed = /^\[(.+)\]$/.exec(dispatcher);
  if (bracketed) dispatcher = bracketed[1] as string;
  if (!HOST.test(dispatcher) || dispatcher.length > 253) {
    throw new UsageError(`invalid --dispatcher host '${dispatcher.replace(/[^\x20-\x7e]/g, '?').slice(0, 100)}'`);
  }

  let port = DEFAULT_PAIRING_PORT;
  const rawPort = str(raw.port);
  if (rawPort !== undefined) {
    const n = /^\d{1,5}$/.test(rawPort) ? Number(rawPort) : NaN;
    if (!(n >= 1 && n <= 65535)) throw new UsageError('--port must be an integer from 1 to 65535');
    port = n;
  }

  let lookupBy: LookupBy | undefined;
  const rawLookup = str(raw.lookupBy);
  if (rawLookup !== undefined) {
    if (rawLookup !== 'ip' && rawLookup !== 'hostname') throw new UsageError("--lookup-by must be 'ip' or 'hostname'");
    lookupBy = rawLookup;
  }

  const background = raw.background === true;
  let timeout: number | undefined;
  const rawTimeout = str(raw.timeout);
  if (rawTimeout !== undefined) {
    const n = /^\d{1,9}$/.test(rawTimeout) ? Number(rawTimeout) : NaN;
    if (!(n >= 1)) throw new UsageError(`--timeout must be a whole number of seconds from 1 to ${MAX_PAIRING_TIMEOUT}`);
    if (n > MAX_PAIRING_TIMEOUT) {
      throw new UsageError(
        background
          ? '--timeout cannot exceed 600 seconds in background mode.'
          : `--timeout must be a whole number of seconds from 1 to ${MAX_PAIRING_TIMEOUT}`,
      );
    }
    timeout = n;
  }
  if (background && timeout === undefined) timeout = DEFAULT_BACKGROUND_TIMEOUT;

  return { dispatcher, port, ...(lookupBy ? { lookupBy } : {}), background, ...(timeout !== undefined ? { timeout } : {}) };
}
