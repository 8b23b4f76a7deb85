/**
 * GET /capabilities (wire-protocol §1.5, features 87, 194-199): the allowlist with its
 * schema sidecars and the agent's tags, behind the map gate and the `discovery` hook.
 */
import { accessSync, constants, statSync } from 'node:fs';
import {
  type CapabilitiesResponse,
  type ScriptCapability,
} from '@ctrl-exec/core';
import { agentHook } from './hook.js';
import type { Reply, RouteContext } from './route-context.js';

export function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The `scripts` list: sorted by name, sidecar fields only when there is a usable sidecar. */
export function scriptCapabilities(ctx: Pick<RouteContext, 'state'>): ScriptCapability[] {
  const { scripts, schemas } = ctx.state;
  return [...scripts.values()]
    .sort((a, b) => byName(a.name, b.name))
    .map((e) => {
      const cap: ScriptCapability = { name: e.name, path: e.path, executable: isExecutable(e.path), profile: e.profile };
      const s = schemas.get(e.name);
      if (s) {
        cap.schema = s.schema;
        cap.schema_version = s.schemaVersion;
      }
      return cap;
    });
}

export async function handleCapabilities(ctx: RouteContext): Promise<Reply> {
  const { settings } = ctx.state;
  const { log } = ctx.runtime;
  const decision = await agentHook(ctx, { action: 'discovery' });
  if (decision && !decision.allowed) {
    log({ action: 'capabilities-deny', dispatcher: ctx.dispatcher, peer: ctx.peer.ip, reason: decision.reason });
    return { status: 403, body: { error: 'not authorised' } };
  }
  const scripts = scriptCapabilities(ctx);
  const body: CapabilitiesResponse = {
    status: 'ok',
    host: ctx.runtime.name,
    version: ctx.runtime.version,
    scripts,
    tags: { ...settings.tags },
  };
  log({ action: 'capabilities', dispatcher: ctx.dispatcher, peer: ctx.peer.ip, scripts: scripts.length });
  return { status: 200, body };
}
