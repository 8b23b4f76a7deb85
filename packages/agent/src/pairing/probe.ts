/**
 * Before generating a key, make sure the dispatcher's pairing port is there at all
 * (wire-protocol §2.1): resolve the name, open a plain TCP connection and close it at once.
 * A pairing server must tolerate this bare connect/close.
 */
import net from 'node:net';
import { lookup } from 'node:dns/promises';
import { unreachable, unresolvable } from './failure.js';

export const PROBE_TIMEOUT_MS = 5000;
const RESOLVE_TIMEOUT_MS = 10_000;

export interface ResolvedHost {
  host: string;
  address: string;
  family: 4 | 6;
}

/** The address to connect to; a resolver failure or silence is `could not resolve ...`. */
export async function resolveDispatcher(host: string, timeoutMs = RESOLVE_TIMEOUT_MS): Promise<ResolvedHost> {
  const literal = net.isIP(host);
  if (literal === 4 || literal === 6) return { host, address: host, family: literal };
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      lookup(host),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('resolver timeout'), { code: 'ETIMEOUT' })), timeoutMs);
      }),
    ]);
    return { host, address: result.address, family: result.family === 6 ? 6 : 4 };
  } catch (err) {
    throw unresolvable(host, err);
  } finally {
    clearTimeout(timer);
  }
}

/** Connect and immediately close; refused, unreachable or silent for timeoutMs is `could not connect ...`. */
export function probeTcp(target: ResolvedHost, port: number, timeoutMs = PROBE_TIMEOUT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: target.address, port, family: target.family });
    let settled = false;
    const done = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err === undefined) resolve();
      else reject(unreachable(target.host, port, err));
    };
    const timer = setTimeout(() => done(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), timeoutMs);
    socket.once('connect', () => done());
    socket.once('error', (err) => done(err));
  });
}
