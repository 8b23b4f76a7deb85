/** What every route works with: one per server, built by buildApiServer. */
import type { AuditEvent, DispatcherConfig, RunStore } from '@ctrl-exec/core';
import type { Dispatcher } from '@ctrl-exec/dispatcher';
import type { ApiMetrics } from '../metrics/metrics.js';
import type { StatusService } from '../status/status-service.js';
import type { ApiAuth } from './auth.js';

export interface ApiContext {
  readonly config: DispatcherConfig;
  /** The long-lived engine (keep-alive pool, locks, audit). */
  readonly dispatcher: Dispatcher;
  readonly runs: RunStore;
  readonly status: StatusService;
  readonly auth: ApiAuth;
  readonly metrics: ApiMetrics;
  audit(event: AuditEvent): void;
  /** Keep a credential out of every later log line. */
  addSecret(secret: string): void;
  /** Fires when the server starts stopping: long waits end early. */
  readonly shutdown: AbortSignal;
  /** The committed OpenAPI document served by `GET /openapi.json`. */
  readonly openapiPath: string;
  /** Longest `?wait=` honoured, in seconds. */
  readonly maxWaitSeconds: number;
}
