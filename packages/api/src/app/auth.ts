/**
 * The API's auth checks (wire-protocol §8): a pre-route gate with action `api` on every
 * request but the open ones, then one per endpoint (`run`, `ping`, `status`). Each check
 * runs the configured hook through core's `authorize` (caller `api`: no hook means
 * `api_auth_default`), logs the `auth` audit line and counts the decision.
 */
import {
  authAuditEvent,
  authHookTimeoutEvent,
  authorize,
  type AuditEvent,
  type AuthContext,
  type AuthDecision,
  type AuthSubmitter,
  type DispatcherConfig,
} from '@ctrl-exec/core';
import { ApiError } from './errors.js';
import type { ErrorBody } from '../schemas/common.js';

export type ApiAuthAction = 'api' | 'run' | 'ping' | 'status' | 'cancel';

export interface AuthRequest {
  script?: string;
  hosts?: readonly string[];
  args?: readonly string[];
  username?: string;
  token?: string;
  reqid?: string;
  submitter?: AuthSubmitter | null;
}

export interface ApiAuthOptions {
  config: Pick<DispatcherConfig, 'authHook' | 'authHookTimeout' | 'apiAuthDefault' | 'authDenyGeneric'>;
  audit: (event: AuditEvent) => void;
  /** Called with every decision (metrics). */
  onDecision?: (action: ApiAuthAction, decision: AuthDecision) => void;
  /** Environment the hook inherits (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export class ApiAuth {
  readonly #options: ApiAuthOptions;

  constructor(options: ApiAuthOptions) {
    this.#options = options;
  }

  /** Ask the hook (or the no-hook rule); never throws. */
  async check(action: ApiAuthAction, request: AuthRequest, sourceIp: string): Promise<AuthDecision> {
    const { config, audit } = this.#options;
    const context: AuthContext = {
      action,
      script: request.script ?? '',
      hosts: [...(request.hosts ?? [])],
      args: [...(request.args ?? [])],
      username: request.username ?? '',
      token: request.token ?? '',
      source_ip: sourceIp,
      dispatcher: '',
      dispatcher_serial: '',
      submitter: request.submitter ?? null,
      ...(request.reqid !== undefined ? { reqid: request.reqid } : {}),
    };
    const timeoutMs = config.authHookTimeout * 1000;
    const decision = await authorize({
      ...(config.authHook !== undefined ? { hook: config.authHook } : {}),
      timeoutMs,
      caller: 'api',
      apiAuthDefault: config.apiAuthDefault,
      context,
      ...(this.#options.env ? { env: this.#options.env } : {}),
    });
    if (decision.kind === 'timeout') audit(authHookTimeoutEvent(timeoutMs));
    audit({ ...authAuditEvent(decision, context, config.authHook !== undefined ? { hook: config.authHook } : {}) });
    this.#options.onDecision?.(action, decision);
    return decision;
  }

  /** The 403 body of a denial: the reason and code, or only `forbidden` (auth_deny_generic). */
  denialBody(decision: AuthDecision): ErrorBody {
    if (this.#options.config.authDenyGeneric) return { ok: false, error: 'forbidden' };
    return { ok: false, error: decision.reason, code: decision.code };
  }

  /** check(), throwing the 403 answer on a denial. */
  async require(action: ApiAuthAction, request: AuthRequest, sourceIp: string): Promise<void> {
    const decision = await this.check(action, request, sourceIp);
    if (!decision.allowed) throw new ApiError(403, this.denialBody(decision));
  }
}
