/**
 * POST /rotate-serial (wire-protocol §1.5, features.md item 157): a trusted dispatcher adds
 * or removes one of its own serials in the trusted map, so that it can announce a rotated
 * certificate before using it and retire the old one afterwards.
 *
 * The dispatcher identity is the caller's (from the serial it presented), never the body's:
 * a dispatcher can only ever add serials under its own name and remove its own. After a
 * change the server reloads its state (map and rate-limit table), as upstream's SIGHUP does.
 */
import { canonicalSerialHex, writeTrustedMapSync } from '@ctrl-exec/core';
import { agentHook } from './hook.js';
import { jsonObject } from './http.js';
import type { Reply, RouteContext } from './route-context.js';

/** Upstream's accepted serial: 8 to 40 hex digits. */
const SERIAL_RE = /^[0-9A-Fa-f]{8,40}$/;

export type RotateAction = 'add' | 'remove';

function failure(error: string): Reply {
  return { status: 200, body: { status: 'error', error } };
}

export async function handleRotateSerial(ctx: RouteContext, reload: () => void): Promise<Reply> {
  const { log } = ctx.runtime;
  const body = jsonObject(ctx.body) ?? {};
  const rawSerial = body['serial'];
  const rawAction = body['action'] ?? 'add';
  const token = typeof body['token'] === 'string' ? body['token'] : '';
  ctx.runtime.addSecret(token);
  const fail = (error: string): Reply => {
    log({ action: 'rotate-fail', dispatcher: ctx.dispatcher, error, peer: ctx.peer.ip, level: 'err' });
    return failure(error);
  };

  if (typeof rawSerial !== 'string' || rawSerial.trim() === '') return fail('serial required');
  if (rawAction !== 'add' && rawAction !== 'remove') return fail(`invalid action '${String(rawAction)}'`);
  const action: RotateAction = rawAction;
  const trimmed = rawSerial.trim();
  if (!SERIAL_RE.test(trimmed)) return fail(`invalid serial '${trimmed.slice(0, 64)}' (8-40 hex digits)`);
  const serial = canonicalSerialHex(trimmed);

  const decision = await agentHook(ctx, { action: 'rotate', args: [action, serial], token });
  if (decision && !decision.allowed) {
    log({ action: 'rotate-deny', dispatcher: ctx.dispatcher, peer: ctx.peer.ip, reason: decision.reason, level: 'warning' });
    return { status: 403, body: { error: `not authorised: ${decision.reason}` } };
  }

  const { config, trusted } = ctx.state;
  const owner = trusted.lookup(serial);
  let next;
  if (action === 'add') {
    // Upstream overwrites; taking over another dispatcher's serial would let one dispatcher
    // speak as another (and read its async results), so we refuse it.
    if (owner !== undefined && owner !== ctx.dispatcher) return fail(`serial owned by '${owner}'`);
    next = trusted.with(serial, ctx.dispatcher);
  } else {
    if (owner !== undefined && owner !== ctx.dispatcher) return fail(`serial not owned by '${ctx.dispatcher}'`);
    // Removing the serial this very connection presents would lock the caller out.
    if (serial === ctx.peer.serial) return fail('cannot remove the serial this connection presents');
    next = trusted.without(serial);
  }
  try {
    writeTrustedMapSync(config.trustedDispatchersPath, next);
  } catch (err) {
    return fail(`could not write trusted map: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  reload();
  log({ action: 'rotate', dispatcher: ctx.dispatcher, peer: ctx.peer.ip, serial, serial_action: action });
  return { status: 200, body: { status: 'ok', action, serial, dispatcher: ctx.dispatcher } };
}
