/**
 * Prometheus metrics for `GET /metrics`, in a registry of their own (never prom-client's
 * global one). Dispatch figures come from the engine's diagnostics_channel events; only
 * operations this server started are counted, so several servers in one process (tests)
 * do not see each other's runs.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DISPATCH_HOST_CHANNEL, type DispatchHostMessage, type PoolStats } from '@ctrl-exec/dispatcher';
import type { AuthDecision } from '@ctrl-exec/core';

const RTT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface ApiMetricsOptions {
  /** Also export the process metrics (CPU, memory, event loop). Default true. */
  processMetrics?: boolean;
  /** The agent connection pool, read at each scrape. */
  pool?: () => PoolStats;
}

/** The outcome label of one host of a run, from the engine's host event. */
export function runOutcome(message: Pick<DispatchHostMessage, 'op' | 'ok' | 'code'>): string {
  if (message.op === 'run-async') {
    if (message.ok) return 'accepted';
    return message.code === 'CE_ERR_LOCKED' ? 'busy' : 'error';
  }
  if (message.ok) return 'ok';
  // The agent answered with a non-zero exit (no code) or the host could not be run (code).
  return message.code ? 'error' : 'failed';
}

export class ApiMetrics {
  readonly registry: Registry;
  readonly #requests: Counter<'method' | 'route' | 'status'>;
  readonly #requestSeconds: Histogram<'method' | 'route'>;
  readonly #inFlight: Gauge;
  readonly #overloads: Counter;
  readonly #runs: Counter<'mode' | 'outcome'>;
  readonly #rtt: Histogram<'op' | 'host'>;
  readonly #auth: Counter<'action' | 'result'>;
  readonly #own = new Map<string, number>();
  readonly #onHost: (message: unknown) => void;
  #closed = false;

  constructor(options: ApiMetricsOptions = {}) {
    const registry = new Registry();
    this.registry = registry;
    this.#requests = new Counter({
      name: 'ctrl_exec_api_requests_total',
      help: 'API requests answered, by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    });
    this.#requestSeconds = new Histogram({
      name: 'ctrl_exec_api_request_duration_seconds',
      help: 'Time to answer an API request',
      labelNames: ['method', 'route'],
      buckets: REQUEST_BUCKETS,
      registers: [registry],
    });
    this.#inFlight = new Gauge({
      name: 'ctrl_exec_api_requests_in_flight',
      help: 'API requests being handled',
      registers: [registry],
    });
    this.#overloads = new Counter({
      name: 'ctrl_exec_api_overload_total',
      help: 'Requests refused with 503 because api_max_children were in flight',
      registers: [registry],
    });
    this.#runs = new Counter({
      name: 'ctrl_exec_api_runs_total',
      help: 'Script runs per host: mode sync (outcome ok, failed, error) or async (accepted, busy, error)',
      labelNames: ['mode', 'outcome'],
      registers: [registry],
    });
    this.#rtt = new Histogram({
      name: 'ctrl_exec_api_agent_rtt_seconds',
      help: 'Round trip of one agent request, by operation and agent',
      labelNames: ['op', 'host'],
      buckets: RTT_BUCKETS,
      registers: [registry],
    });
    this.#auth = new Counter({
      name: 'ctrl_exec_api_auth_decisions_total',
      help: 'Auth decisions by action (api, run, ping, status) and result (pass, deny, error)',
      labelNames: ['action', 'result'],
      registers: [registry],
    });
    const pool = options.pool;
    if (pool) {
      new Gauge({
        name: 'ctrl_exec_api_agent_connections',
        help: 'Connections to agents in the keep-alive pool, by state (open: in use or idle; idle; queued: requests waiting for one)',
        labelNames: ['state'],
        registers: [registry],
        collect() {
          const now = pool();
          this.set({ state: 'open' }, now.open);
          this.set({ state: 'idle' }, now.idle);
          this.set({ state: 'queued' }, now.queued);
        },
      });
    }
    if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });

    this.#onHost = (message: unknown) => this.#host(message as DispatchHostMessage);
    subscribe(DISPATCH_HOST_CHANNEL, this.#onHost);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Count the engine events of `reqid` until the returned function is called. */
  own(reqid: string): () => void {
    this.#own.set(reqid, (this.#own.get(reqid) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.#own.get(reqid) ?? 1) - 1;
      if (n <= 0) this.#own.delete(reqid);
      else this.#own.set(reqid, n);
    };
  }

  requestStarted(): void {
    this.#inFlight.inc();
  }

  requestFinished(method: string, route: string, status: number, seconds: number): void {
    this.#inFlight.dec();
    this.#requests.inc({ method, route, status: String(status) });
    this.#requestSeconds.observe({ method, route }, seconds);
  }

  /** A request answered before it was counted in flight (overload, shutdown). */
  requestRefused(method: string, route: string, status: number): void {
    this.#requests.inc({ method, route, status: String(status) });
  }

  overloaded(): void {
    this.#overloads.inc();
  }

  authDecision(action: string, decision: AuthDecision): void {
    const result = decision.allowed ? 'pass' : decision.kind === 'error' ? 'error' : 'deny';
    this.#auth.inc({ action, result });
  }

  #host(message: DispatchHostMessage): void {
    if (this.#closed || !this.#own.has(message.reqid)) return;
    this.#rtt.observe({ op: message.op, host: message.host }, Math.max(0, message.rttMs) / 1000);
    if (message.op === 'run' || message.op === 'run-async') {
      this.#runs.inc({ mode: message.op === 'run' ? 'sync' : 'async', outcome: runOutcome(message) });
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    unsubscribe(DISPATCH_HOST_CHANNEL, this.#onHost);
  }
}
