/**
 * One table of every failure ctrl-exec can report. Each code is stable (tests and
 * clients key on it), and maps to the HTTP status the API answers with and the exit
 * code a CLI ends with. Only a binary's entry file turns an error into process.exit.
 */

/** CLI exit codes (sysexits for configuration, as upstream). */
export const ExitCode = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  CONFIG: 78,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

interface ErrorSpec {
  readonly status: number;
  readonly exit: number;
}

/** code -> HTTP status, CLI exit code. Grouped by area. */
export const ERROR_TABLE = {
  // usage and input
  CE_ERR_USAGE: { status: 400, exit: ExitCode.USAGE },
  CE_ERR_BAD_REQUEST: { status: 400, exit: ExitCode.FAILED },
  CE_ERR_INVALID_JSON: { status: 400, exit: ExitCode.FAILED },
  CE_ERR_BODY_TOO_LARGE: { status: 413, exit: ExitCode.FAILED },
  CE_ERR_TOO_MANY_HEADERS: { status: 431, exit: ExitCode.FAILED },
  CE_ERR_OVERLOAD: { status: 503, exit: ExitCode.FAILED },
  CE_ERR_NOT_FOUND: { status: 404, exit: ExitCode.FAILED },

  // configuration
  CE_ERR_CONFIG: { status: 500, exit: ExitCode.CONFIG },
  CE_ERR_CONFIG_MISSING: { status: 500, exit: ExitCode.CONFIG },
  CE_ERR_CONFIG_VALUE: { status: 500, exit: ExitCode.CONFIG },
  CE_ERR_NOT_PAIRED: { status: 500, exit: ExitCode.CONFIG },

  // PKI
  CE_ERR_KEY_SIZE: { status: 500, exit: ExitCode.CONFIG },
  CE_ERR_CA_EXISTS: { status: 500, exit: ExitCode.FAILED },
  CE_ERR_CA_MISSING: { status: 500, exit: ExitCode.FAILED },
  CE_ERR_CERT_MISSING: { status: 500, exit: ExitCode.FAILED },
  CE_ERR_CSR_NOT_PEM: { status: 400, exit: ExitCode.FAILED },
  CE_ERR_CSR_TOO_LARGE: { status: 413, exit: ExitCode.FAILED },
  CE_ERR_CSR_MALFORMED: { status: 400, exit: ExitCode.FAILED },
  CE_ERR_CSR_BAD_SIGNATURE: { status: 400, exit: ExitCode.FAILED },
  CE_ERR_CSR_NOT_RSA: { status: 400, exit: ExitCode.FAILED },
  CE_ERR_CSR_KEY_TOO_SMALL: { status: 400, exit: ExitCode.FAILED },
  CE_ERR_CSR_WEAK_DIGEST: { status: 400, exit: ExitCode.FAILED },
  CE_ERR_CSR_CN_MISMATCH: { status: 400, exit: ExitCode.FAILED },
  CE_ERR_SERIAL_INVALID: { status: 400, exit: ExitCode.FAILED },

  // authorisation
  CE_ERR_AUTH_DENIED: { status: 403, exit: ExitCode.FAILED },
  CE_ERR_NOT_PERMITTED: { status: 403, exit: ExitCode.FAILED },
  CE_ERR_SERIAL_MISMATCH: { status: 403, exit: ExitCode.FAILED },
  CE_ERR_REVOKED: { status: 403, exit: ExitCode.FAILED },

  // dispatch and transport
  CE_ERR_UNKNOWN_AGENT: { status: 404, exit: ExitCode.FAILED },
  CE_ERR_LOCKED: { status: 409, exit: ExitCode.FAILED },
  CE_ERR_UNREACHABLE: { status: 502, exit: ExitCode.FAILED },
  CE_ERR_TIMEOUT: { status: 504, exit: ExitCode.FAILED },
  CE_ERR_TLS: { status: 502, exit: ExitCode.FAILED },
  CE_ERR_PROTOCOL: { status: 502, exit: ExitCode.FAILED },

  // files and internals
  CE_ERR_FS: { status: 500, exit: ExitCode.FAILED },
  CE_ERR_ROTATION_STATE: { status: 500, exit: ExitCode.FAILED },
  CE_ERR_INTERNAL: { status: 500, exit: ExitCode.FAILED },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_TABLE;

export interface CtrlExecErrorOptions {
  cause?: unknown;
  /** Machine-readable context (file, line, key, host...). Never put secrets here. */
  details?: Record<string, unknown>;
}

/** Base of every error ctrl-exec raises on purpose. */
export class CtrlExecError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly exitCode: number;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: CtrlExecErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CtrlExecError';
    this.code = code;
    this.statusCode = ERROR_TABLE[code].status;
    this.exitCode = ERROR_TABLE[code].exit;
    this.details = options.details ?? {};
  }
}

/** Wrong command-line usage: exit 2. */
export class UsageError extends CtrlExecError {
  constructor(message: string, options?: CtrlExecErrorOptions) {
    super('CE_ERR_USAGE', message, options);
    this.name = 'UsageError';
  }
}

/** A configuration problem, located as precisely as we can: exit 78. */
export class ConfigError extends CtrlExecError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly key: string | undefined;

  constructor(
    message: string,
    where: { file?: string; line?: number; key?: string; code?: 'CE_ERR_CONFIG' | 'CE_ERR_CONFIG_MISSING' | 'CE_ERR_CONFIG_VALUE' } = {},
    options?: CtrlExecErrorOptions,
  ) {
    const prefix = [where.file, where.line].filter((p) => p !== undefined).join(':');
    const keyPart = where.key ? `'${where.key}': ` : '';
    super(where.code ?? 'CE_ERR_CONFIG', `${prefix ? `${prefix}: ` : ''}${keyPart}${message}`, {
      ...options,
      details: { ...options?.details, file: where.file, line: where.line, key: where.key },
    });
    this.name = 'ConfigError';
    this.file = where.file;
    this.line = where.line;
    this.key = where.key;
  }
}

/** A certificate signing request refused before signing. */
export class CsrRejectedError extends CtrlExecError {
  constructor(
    code:
      | 'CE_ERR_CSR_NOT_PEM'
      | 'CE_ERR_CSR_TOO_LARGE'
      | 'CE_ERR_CSR_MALFORMED'
      | 'CE_ERR_CSR_BAD_SIGNATURE'
      | 'CE_ERR_CSR_NOT_RSA'
      | 'CE_ERR_CSR_KEY_TOO_SMALL'
      | 'CE_ERR_CSR_WEAK_DIGEST'
      | 'CE_ERR_CSR_CN_MISMATCH',
    message: string,
    options?: CtrlExecErrorOptions,
  ) {
    super(code, message, options);
    this.name = 'CsrRejectedError';
  }
}

export function isCtrlExecError(err: unknown): err is CtrlExecError {
  return err instanceof CtrlExecError;
}

/** Wrap anything thrown into a CtrlExecError, keeping the original as cause. */
export function toCtrlExecError(err: unknown, fallback: ErrorCode = 'CE_ERR_INTERNAL'): CtrlExecError {
  if (err instanceof CtrlExecError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CtrlExecError(fallback, message, { cause: err });
}
