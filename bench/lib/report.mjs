/** Output: one JSON line per figure on stdout; progress and diagnostics on stderr. */

export function emit(bench, metric, value, unit, extra = {}) {
  const v = typeof value === 'number' ? round(value) : value;
  process.stdout.write(`${JSON.stringify({ bench, metric, value: v, unit, ...extra })}\n`);
}

export function log(message) {
  process.stderr.write(`[bench] ${message}\n`);
}

export function round(n) {
  if (!Number.isFinite(n)) return n;
  const abs = Math.abs(n);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return Number(n.toFixed(digits));
}

/** Nearest-rank percentile (p in 0..100) of an unsorted list. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

export const median = (values) => percentile(values, 50);

/** Pass/fail against an upper (`max`) or lower (`min`) bound, for the extra fields. */
export function verdict(value, { max, min }) {
  if (max !== undefined) return value <= max ? 'met' : 'missed';
  if (min !== undefined) return value >= min ? 'met' : 'missed';
  return undefined;
}
