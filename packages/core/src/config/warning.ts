import { ConfigError } from '../errors.js';

/** A non-fatal configuration problem, located as precisely as we can. */
export interface ConfigWarning {
  file: string;
  line?: number;
  key?: string;
  /** scripts.conf entry name, when the warning is about one entry. */
  entry?: string;
  message: string;
}

type ConfigErrorCode = 'CE_ERR_CONFIG' | 'CE_ERR_CONFIG_MISSING' | 'CE_ERR_CONFIG_VALUE';

export interface ErrorWhere {
  file: string;
  line?: number;
  key?: string;
  code: ConfigErrorCode;
}

/**
 * A ConfigError whose message is exactly `message` (no `file:line:` prefix), for
 * upstream-compatible wording that already names the file, e.g. `Missing 'cert' in <path>`.
 * file, line and key are still carried on the error.
 */
export function exactConfigError(message: string, where: ErrorWhere, cause?: unknown): ConfigError {
  const err = new ConfigError(message, where, cause === undefined ? undefined : { cause });
  err.message = message;
  return err;
}

/** A ConfigError prefixed with `file:line: 'key': `. */
export function configError(message: string, where: ErrorWhere, cause?: unknown, details?: Record<string, unknown>): ConfigError {
  return new ConfigError(message, where, { ...(cause === undefined ? {} : { cause }), ...(details ? { details } : {}) });
}

/**
 * Make text from a config file safe to echo in a message or a terminal: control
 * characters become \xNN and very long text is shortened.
 */
export function printable(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const clean = text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}
