/**
 * Value syntax shared by the configuration parsers. Each function answers
 * `undefined` for a value it does not accept; the caller turns that into a
 * located ConfigError.
 */

/** Longest delay, in seconds, a Node timer can hold (2^31-1 ms). */
export const MAX_TIMER_SECONDS = 2_147_483;

/** A plain unsigned decimal integer (digits only, no sign, no unit), within the safe range. */
export function parseUnsigned(value: string): number | undefined {
  if (!/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** An unsigned integer within [min, max]. */
export function parseIntInRange(value: string, min: number, max: number): number | undefined {
  const n = parseUnsigned(value);
  return n !== undefined && n >= min && n <= max ? n : undefined;
}

/** A TCP port, 1..65535. */
export function parsePort(value: string): number | undefined {
  return parseIntInRange(value, 1, 65535);
}

/**
 * Upstream's switch test: on when the value starts with `1` or `y` (any case),
 * after optional whitespace. So `yes`, `Y`, `1` are on; `true` and `on` are off.
 */
export function isUpstreamYes(value: string | undefined): boolean {
  return value !== undefined && /^\s*[1y]/i.test(value);
}

/**
 * A value an operator probably meant as "on" that upstream's switch test treats as off.
 * Used only to warn.
 */
export function looksLikeIgnoredYes(value: string): boolean {
  return !isUpstreamYes(value) && /^\s*(?:true|on|enabled?)\s*$/i.test(value);
}

/** Profile boolean (`no_new_privileges`): true only for 1, y, yes, true, on (any case). */
export function isProfileTrue(value: string): boolean {
  return /^(?:1|y|yes|true|on)$/i.test(value);
}

/** Profile boolean words that mean false. Anything neither true nor false is rejected. */
export function isProfileFalse(value: string): boolean {
  return /^(?:0|n|no|false|off)$/i.test(value);
}

/** A byte count: `<n>`, `<n>K` (x1024) or `<n>M` (x1048576), K/M in either case; at least 1. */
export function parseByteSize(value: string): number | undefined {
  const m = /^(\d+)([KkMm]?)$/.exec(value);
  if (!m) return undefined;
  const base = parseUnsigned(m[1] ?? '');
  if (base === undefined) return undefined;
  const unit = (m[2] ?? '').toUpperCase();
  const n = base * (unit === 'K' ? 1024 : unit === 'M' ? 1024 * 1024 : 1);
  return n >= 1 && Number.isSafeInteger(n) ? n : undefined;
}
