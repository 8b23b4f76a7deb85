/**
 * Audit levels and their syslog priorities. Every audit line goes to facility `daemon`
 * with one of three severities, as upstream (wire-protocol §10): INFO, WARNING, ERR.
 */

export type Level = 'info' | 'warning' | 'err';

/** syslog facility `daemon`. */
export const FACILITY_DAEMON = 3;

/** RFC 5424 severity of each level. */
export const SYSLOG_SEVERITY: Readonly<Record<Level, number>> = Object.freeze({ info: 6, warning: 4, err: 3 });

/** The PRI value of a line at `level` on facility daemon: info 30, warning 28, err 27. */
export function syslogPriority(level: Level): number {
  return FACILITY_DAEMON * 8 + (SYSLOG_SEVERITY[normaliseLevel(level)]);
}

/** Accept the level names callers are likely to type; anything unknown is info. */
export function normaliseLevel(level: unknown): Level {
  switch (level) {
    case 'err':
    case 'error':
      return 'err';
    case 'warning':
    case 'warn':
      return 'warning';
    default:
      return 'info';
  }
}

/**
 * Default level of every ACTION in the upstream catalogue (wire-protocol §10.1, §10.2, §10.3).
 * Where one ACTION has an error form (`run` with ERROR, `renew` failing...), the entry is the
 * success level and the caller passes `level` for the failure.
 */
export const AUDIT_LEVELS: Readonly<Record<string, Level>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, Level>, {
    // agent (§10.1)
    start: 'info',
    'accept-fatal': 'err',
    'tls-failure': 'warning',
    'ip-block': 'warning',
    overload: 'warning',
    'rate-block': 'warning',
    'rate-evict': 'warning',
    'revoked-cert': 'warning',
    'serial-reject': 'warning',
    deny: 'warning',
    run: 'info',
    'run-async': 'info',
    'run-async-busy': 'warning',
    ping: 'info',
    capabilities: 'info',
    'capabilities-deny': 'warning',
    'capabilities-no-serial': 'warning',
    result: 'info',
    'result-miss': 'info',
    'result-deny': 'warning',
    rotate: 'info',
    'rotate-deny': 'warning',
    'rotate-fail': 'err',
    renew: 'info',
    'renew-complete': 'info',
    'cert-promote': 'info',
    'pair-complete': 'info',
    'pair-denied': 'warning',
    'pair-timeout': 'warning',
    'revoked-serials-absent': 'info',
    'config-warn': 'warning',
    'stdin-timeout': 'warning',
    'schema-skip': 'warning',
    'schema-version-derive': 'warning',
    'async-store-fail': 'err',
    auth: 'info',
    'auth-hook-timeout': 'warning',
    // dispatcher and API (§10.2)
    dispatch: 'info',
    'pairing-mode-start': 'info',
    'pairing-mode-stop': 'info',
    'pairing-mode-timeout': 'info',
    'pair-request': 'info',
    'pair-reject': 'info',
    'pair-approve': 'info',
    'pair-deny': 'info',
    unpair: 'info',
    'edit-agent': 'info',
    maintain: 'info',
    'lock-acquire': 'info',
    'lock-release': 'info',
    'lock-conflict': 'warning',
    'run-store-fail': 'warning',
    'api-start': 'info',
    'api-stop': 'info',
    'api-request': 'info',
    'api-overload': 'warning',
    'cert-check': 'info',
    'cert-renewal-start': 'info',
    'cert-rotated': 'info',
    'cert-rotation-fail': 'err',
    'rotation-state-corrupt': 'err',
    'serial-broadcast': 'info',
    'serial-confirmed': 'info',
    'serial-broadcast-fail': 'warning',
    'serial-broadcast-error': 'err',
    'serial-stale': 'warning',
    'serial-retire': 'info',
    'serial-retire-error': 'warning',
    'expire-stale-error': 'warning',
    'serial-retire-loop-error': 'warning',
    'cert-check-error': 'warning',
    'broadcast-error': 'warning',
    'cert-check-warn': 'warning',
    'broadcast-retry-error': 'warning',
  } satisfies Record<string, Level>),
);

/** The level an event is logged at: its own `level`, else the catalogue default, else info. */
export function levelOf(event: { action?: unknown; level?: unknown }): Level {
  if (event.level !== undefined && event.level !== null) return normaliseLevel(event.level);
  const action = event.action;
  if (typeof action === 'string' && Object.hasOwn(AUDIT_LEVELS, action)) return AUDIT_LEVELS[action]!;
  return 'info';
}
