/**
 * Per-source-IP rate limiting for the agent (7443) and pairing (7444) listeners
 * (wire-protocol §6.7). Two independent checks share one table:
 *
 * - volume: at most `limit` accepted connections per `window` seconds; the next one
 *   blocks the IP for `block` seconds;
 * - probe: at most `limit` TLS handshake failures per `window` seconds; the next one
 *   blocks the IP for `block` seconds.
 *
 * A limit of 0 disables that check. The table holds at most `maxIps` addresses; each
 * entry keeps at most `limit` timestamps per check, so memory stays bounded whatever
 * the traffic, and every call costs amortised O(1).
 */

/** `limit/window/block`: a count, a window in seconds, a block duration in seconds. */
export interface RateSpec {
  limit: number;
  window: number;
  block: number;
}

/** Upstream defaults: `rate_limit_volume = 10/60/300`, `rate_limit_probe = 3/600/3600`. */
export const DEFAULT_VOLUME_SPEC: Readonly<RateSpec> = Object.freeze({ limit: 10, window: 60, block: 300 });
export const DEFAULT_PROBE_SPEC: Readonly<RateSpec> = Object.freeze({ limit: 3, window: 600, block: 3600 });

/** Exact `config-warn MSG=` text for a malformed spec (compatibility string). */
export const RATE_SPEC_WARNING = 'invalid format, expected limit/window/block - using defaults';

const SPEC_RE = /^(\d+)\/(\d+)\/(\d+)$/;

/**
 * Read a `limit/window/block` spec of non-negative integers. Unset or empty gives the
 * fallback silently; anything malformed gives the fallback and the warning text.
 */
export function parseRateSpec(spec: string | undefined, fallback: RateSpec): { spec: RateSpec; warning?: string } {
  const fb = { limit: fallback.limit, window: fallback.window, block: fallback.block };
  if (spec === undefined) return { spec: fb };
  const text = spec.trim();
  if (text === '') return { spec: fb };
  const m = SPEC_RE.exec(text);
  if (!m) return { spec: fb, warning: RATE_SPEC_WARNING };
  const [limit, window, block] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (![limit, window, block].every((n) => Number.isSafeInteger(n))) return { spec: fb, warning: RATE_SPEC_WARNING };
  return { spec: { limit, window, block } };
}

export type RateLimitEvent =
  | { action: 'rate-block'; peer: string; reason: 'volume' | 'probe' }
  | { action: 'rate-evict'; count: number };

export interface RateLimiterOptions {
  volume: RateSpec;
  probe: RateSpec;
  /** `rate_limit_disable`: every connection allowed, nothing recorded. */
  disabled?: boolean;
  /** Table capacity in IPs. Default 1000. */
  maxIps?: number;
  /** Clock in milliseconds (injectable for tests). Default Date.now. */
  now?: () => number;
  /** Called on the first crossing of a limit and when an active entry is evicted. */
  onEvent?: (e: RateLimitEvent) => void;
}

/** Timestamps in arrival order, oldest dropped from the front in amortised O(1). */
class Window {
  private times: number[] = [];
  private head = 0;

  get count(): number {
    return this.times.length - this.head;
  }

  push(t: number): void {
    this.times.push(t);
  }

  /** Forget everything at or before `cutoff`. */
  prune(cutoff: number): void {
    while (this.head < this.times.length && this.times[this.head]! <= cutoff) this.head++;
    if (this.head === this.times.length) {
      this.times = [];
      this.head = 0;
    } else if (this.head > 32 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.times = [];
    this.head = 0;
  }
}

interface Entry {
  volume: Window;
  probe: Window;
  /** Block end, ms since the epoch (0 = never blocked). */
  blockedUntil: number;
}

type Kind = 'volume' | 'probe';

export class RateLimiter {
  private readonly volume: RateSpec;
  private readonly probe: RateSpec;
  private readonly disabled: boolean;
  private readonly maxIps: number;
  private readonly now: () => number;
  private readonly onEvent: ((e: RateLimitEvent) => void) | undefined;
  /** Map iteration order is least-recently-active first: every touch re-inserts the key. */
  private table = new Map<string, Entry>();
  /** New IPs admitted since the last full sweep; a sweep is paid for by maxIps/4 of them. */
  private insertsSinceSweep = 0;

  constructor(options: RateLimiterOptions) {
    this.volume = { ...options.volume };
    this.probe = { ...options.probe };
    this.disabled = options.disabled === true;
    const max = options.maxIps ?? 1000;
    this.maxIps = Number.isSafeInteger(max) && max >= 1 ? max : 1000;
    this.now = options.now ?? Date.now;
    this.onEvent = options.onEvent;
  }

  /** Number of IPs currently tracked. */
  get size(): number {
    return this.table.size;
  }

  /**
   * Called on each accepted connection: false means drop it silently. Records the
   * connection; if `limit` connections are already in the window, blocks the IP
   * (and reports `rate-block` once, at the crossing).
   */
  allowConnection(ip: string): boolean {
    if (this.disabled) return true;
    const now = this.now();
    const existing = this.table.get(ip);
    if (existing && existing.blockedUntil > now) {
      this.touch(ip, existing);
      return false;
    }
    if (!active(this.volume)) return true;
    const entry = existing ?? this.create(ip, now);
    this.touch(ip, entry);
    return this.record(ip, entry, 'volume', now);
  }

  /** Called on each failed TLS handshake from `ip`. */
  recordProbeFailure(ip: string): void {
    if (this.disabled || !active(this.probe)) return;
    const now = this.now();
    const existing = this.table.get(ip);
    if (existing && existing.blockedUntil > now) {
      this.touch(ip, existing);
      return;
    }
    const entry = existing ?? this.create(ip, now);
    this.touch(ip, entry);
    this.record(ip, entry, 'probe', now);
  }

  isBlocked(ip: string): boolean {
    if (this.disabled) return false;
    const entry = this.table.get(ip);
    return entry !== undefined && entry.blockedUntil > this.now();
  }

  /**
   * Forget the connections recorded for `ip` (a block already in force stays). Used
   * once a connection proves to come from a trusted dispatcher, so its normal traffic
   * never counts against it.
   */
  forgive(ip: string): void {
    const entry = this.table.get(ip);
    if (!entry) return;
    entry.volume.clear();
    if (entry.probe.count === 0 && entry.blockedUntil <= this.now()) this.table.delete(ip);
  }

  /** Drop all state (SIGHUP). */
  clear(): void {
    this.table = new Map();
    this.insertsSinceSweep = 0;
  }

  private record(ip: string, entry: Entry, kind: Kind, now: number): boolean {
    const spec = kind === 'volume' ? this.volume : this.probe;
    const win = entry[kind];
    win.prune(now - spec.window * 1000);
    if (win.count >= spec.limit) {
      entry.blockedUntil = now + spec.block * 1000;
      // The block replaces the history: once it ends the IP starts afresh.
      win.clear();
      this.onEvent?.({ action: 'rate-block', peer: ip, reason: kind });
      return false;
    }
    win.push(now);
    return true;
  }

  private touch(ip: string, entry: Entry): void {
    this.table.delete(ip);
    this.table.set(ip, entry);
  }

  private create(ip: string, now: number): Entry {
    if (this.table.size >= this.maxIps) this.makeRoom(now);
    this.insertsSinceSweep++;
    const entry: Entry = { volume: new Window(), probe: new Window(), blockedUntil: 0 };
    this.table.set(ip, entry);
    return entry;
  }

  /** An entry whose block is over and whose windows hold nothing recent carries no state. */
  private reclaimable(entry: Entry, now: number): boolean {
    if (entry.blockedUntil > now) return false;
    entry.volume.prune(now - this.volume.window * 1000);
    entry.probe.prune(now - this.probe.window * 1000);
    return entry.volume.count === 0 && entry.probe.count === 0;
  }

  /**
   * Free at least one slot. A full sweep (reclaim every stale entry) costs O(maxIps), so
   * it runs only after maxIps/4 new IPs since the previous one; otherwise, or when the
   * sweep frees nothing, the least recently active entry goes. `rate-evict` is reported
   * once per sweep that had to evict live state, not for every later eviction it implies.
   */
  private makeRoom(now: number): void {
    if (this.insertsSinceSweep >= Math.ceil(this.maxIps / 4)) {
      this.insertsSinceSweep = 0;
      for (const [ip, entry] of this.table) if (this.reclaimable(entry, now)) this.table.delete(ip);
      if (this.table.size < this.maxIps) return;
      this.evictOldest();
      this.onEvent?.({ action: 'rate-evict', count: this.maxIps });
      return;
    }
    this.evictOldest();
  }

  private evictOldest(): void {
    const first = this.table.keys().next();
    if (!first.done) this.table.delete(first.value);
  }
}

function active(spec: RateSpec): boolean {
  return spec.limit > 0 && spec.window > 0;
}
