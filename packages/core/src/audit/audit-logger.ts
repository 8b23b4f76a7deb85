/**
 * The audit logger: one per process, separate from debug logging. Each event is rendered
 * once for syslog (upstream's `ACTION=... KEY=value` text at facility daemon) and, when
 * asked, once as a JSON line in pino's shape. Credentials never reach either rendering (see redact.ts).
 * log() never throws and never blocks; flush() lets a short-lived CLI wait for its last
 * lines before exiting.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import { ConfigError } from '../errors.js';
import { auditRecord, escapeControlChars, formatAuditLine, type AuditEvent } from './format.js';
import { JsonSink, type JsonTarget } from './json-sink.js';
import { levelOf, syslogPriority } from './levels.js';
import { LocalSyslogSink } from './local-syslog.js';
import { SecretRedactor } from './redact.js';
import { RemoteSyslogSink } from './remote-syslog.js';
import { NullSink, StderrSink, stderrLine, writeStderr, type SinkStats, type SyslogSink } from './sink.js';
import { DEFAULT_SYSLOG_SOCKET, type SyslogTarget, type TlsSyslogTarget } from './syslog-target.js';

/** The three idents upstream uses. */
export const AUDIT_IDENTS = ['ctrl-exec-dispatcher', 'ctrl-exec-api', 'ctrl-exec-agent'] as const;

export interface AuditLoggerOptions {
  /** syslog ident / APP-NAME, e.g. `ctrl-exec-agent`. */
  ident: string;
  /** Default: the local syslog daemon at /dev/log. */
  syslog?: SyslogTarget | undefined;
  /** Also write JSON lines to stdout or to a file (appended, created 0640). Default: off. */
  json?: JsonTarget | undefined;
  /** Remote collectors: lines kept while unreachable (oldest dropped past this). Default 1000. */
  maxQueue?: number;
  /** Upper bound on one flush() / close(). Default 5000 ms. */
  flushTimeoutMs?: number;
  /** Notices about the logger itself (fallbacks, outages). Default: `<ident>: <message>` on stderr. */
  diagnostic?: (message: string) => void;
}

export interface AuditLogger {
  /** Log one event; never throws, never blocks. */
  log(event: AuditEvent): void;
  /** Replace this string (length >= 4) by `[redacted]` wherever it appears in any later line. */
  addSecret(secret: string): void;
  /** Resolves when everything logged so far has been handed to the OS (bounded by flushTimeoutMs). */
  flush(): Promise<void>;
  /** Flush, then release the syslog transport and JSON file. Later events go to stderr. */
  close(): Promise<void>;
  /** Lines dropped and still queued on the syslog side. */
  stats(): SinkStats;
}

const IDENT = /^[\x21-\x7e]{1,48}$/;

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`cannot read syslog TLS ${what} '${path}': ${(err as NodeJS.ErrnoException).code ?? 'EIO'}`, {
      code: 'CE_ERR_CONFIG_VALUE',
    }, { cause: err, details: { path } });
  }
}

/** The TLS context for a collector, built once and reused for every reconnection. */
export function syslogTlsContext(target: Pick<TlsSyslogTarget, 'ca' | 'cert' | 'key'>): SecureContext {
  if (typeof target.ca !== 'string' || target.ca === '') {
    throw new ConfigError('a tls:// syslog target needs a CA file', { code: 'CE_ERR_CONFIG_VALUE' });
  }
  if ((target.cert === undefined) !== (target.key === undefined)) {
    throw new ConfigError('syslog TLS client certificate and key must be given together', { code: 'CE_ERR_CONFIG_VALUE' });
  }
  const ca = readPem(target.ca, 'CA file');
  const cert = target.cert === undefined ? undefined : readPem(target.cert, 'certificate');
  const key = target.key === undefined ? undefined : readPem(target.key, 'key');
  try {
    return createSecureContext({ ca, ...(cert && key ? { cert, key } : {}) });
  } catch (err) {
    throw new ConfigError(`unusable syslog TLS material: ${(err as Error).message}`, { code: 'CE_ERR_CONFIG_VALUE' }, { cause: err });
  }
}

function createSyslogSink(ident: string, target: SyslogTarget, options: AuditLoggerOptions, diagnostic: (m: string) => void): SyslogSink {
  switch (target.kind) {
    case 'local':
      return new LocalSyslogSink({
        ident,
        socket: target.socket ?? DEFAULT_SYSLOG_SOCKET,
        ...(target.command !== undefined ? { command: target.command } : {}),
        diagnostic,
      });
    case 'tcp':
    case 'tls':
      if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535 || typeof target.host !== 'string' || target.host === '') {
        throw new ConfigError(`invalid syslog collector ${String(target.host)}:${String(target.port)}`, { code: 'CE_ERR_CONFIG_VALUE' });
      }
      return new RemoteSyslogSink({
        ident,
        host: target.host,
        port: target.port,
        ...(target.kind === 'tls'
          ? { tls: { context: syslogTlsContext(target), ...(target.servername !== undefined ? { servername: target.servername } : {}) } }
          : {}),
        ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
        diagnostic,
      });
    case 'stderr':
      return new StderrSink(ident);
    case 'none':
      return new NullSink();
    default:
      throw new ConfigError(`unknown syslog target kind '${String((target as { kind?: unknown }).kind)}'`, { code: 'CE_ERR_CONFIG_VALUE' });
  }
}

export function createAuditLogger(options: AuditLoggerOptions): AuditLogger {
  const ident = options.ident;
  if (typeof ident !== 'string' || !IDENT.test(ident) || ident.startsWith('-')) {
    throw new ConfigError(`invalid syslog ident '${String(ident)}'`, { code: 'CE_ERR_CONFIG_VALUE' });
  }
  const diagnostic =
    options.diagnostic ?? ((message: string) => writeStderr(`${ident}: ${escapeControlChars(message)}\n`));
  const timeoutMs = options.flushTimeoutMs ?? 5000;
  const redactor = new SecretRedactor();
  const syslog = createSyslogSink(ident, options.syslog ?? { kind: 'local' }, options, diagnostic);
  let json: JsonSink | undefined;
  try {
    json = options.json === undefined ? undefined : new JsonSink(ident, options.json, diagnostic);
  } catch (err) {
    void syslog.close(0);
    throw err;
  }
  let closed = false;
  let complained = false;

  return {
    log(event: AuditEvent): void {
      try {
        if (event === null || typeof event !== 'object') return;
        const line = formatAuditLine(event, redactor);
        if (closed) {
          writeStderr(stderrLine(ident, line));
          return;
        }
        const level = levelOf(event);
        syslog.write(syslogPriority(level), line);
        json?.write(level, auditRecord(event, redactor));
      } catch (err) {
        if (!complained) {
          complained = true;
          diagnostic(`cannot log an audit event: ${redactor.redact(err instanceof Error ? err.message : String(err))}`);
        }
      }
    },
    addSecret(secret: string): void {
      redactor.add(secret);
    },
    async flush(): Promise<void> {
      await Promise.all([syslog.flush(timeoutMs), json?.flush(timeoutMs)]);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.all([syslog.close(timeoutMs), json?.close(timeoutMs)]);
    },
    stats(): SinkStats {
      return syslog.stats();
    },
  };
}
