import { authAuditEvent, authHookTimeoutEvent, authorize, type AuthContext, type AuthDecision } from '@ctrl-exec/core';
import type { RouteContext } from './route-context.js';

/**
 * The agent's auth hook for one request (action run, discovery...), audited. Returns undefined
 * when no hook is configured: upstream's agent then skips the check entirely.
 */
export async function agentHook(
  ctx: RouteContext,
  fields: { action: string; script?: string; args?: string[]; username?: string; token?: string },
): Promise<AuthDecision | undefined> {
  const { settings } = ctx.state;
  if (settings.authHook === undefined) return undefined;
  const context: AuthContext = {
    action: fields.action,
    script: fields.script ?? '',
    hosts: [],
    args: fields.args ?? [],
    username: fields.username ?? '',
    token: fields.token ?? '',
    source_ip: ctx.peer.ip,
    dispatcher: ctx.dispatcher,
    dispatcher_serial: ctx.peer.rawSerial,
    submitter: null,
  };
  const decision = await authorize({
    hook: settings.authHook,
    timeoutMs: settings.authHookTimeoutMs,
    caller: 'agent',
    apiAuthDefault: 'deny',
    context,
    env: ctx.runtime.env,
  });
  if (decision.kind === 'timeout') ctx.runtime.log(authHookTimeoutEvent(settings.authHookTimeoutMs));
  ctx.runtime.log({ ...authAuditEvent(decision, context, { hook: settings.authHook }) });
  return decision;
}
