export { createAuditLogger, syslogTlsContext, AUDIT_IDENTS, type AuditLogger, type AuditLoggerOptions } from './audit-logger.js';
export {
  formatAuditLine,
  auditRecord,
  renderValue,
  valueText,
  fieldKey,
  escapeControlChars,
  type AuditEvent,
} from './format.js';
export { AUDIT_LEVELS, FACILITY_DAEMON, SYSLOG_SEVERITY, levelOf, normaliseLevel, syslogPriority, type Level } from './levels.js';
export { SecretRedactor, SENSITIVE_FIELD, REDACTED, MIN_SECRET_LENGTH, isSensitiveField } from './redact.js';
export {
  parseSyslogTarget,
  DEFAULT_SYSLOG_SOCKET,
  type SyslogTarget,
  type SyslogTargetSettings,
  type ConfigLocation,
  type LocalSyslogTarget,
  type TcpSyslogTarget,
  type TlsSyslogTarget,
  type StderrSyslogTarget,
  type NoSyslogTarget,
} from './syslog-target.js';
export { formatRfc5424, frameOctetCounted, DEFAULT_MAX_QUEUE } from './remote-syslog.js';
export { JSON_FILE_MODE, type JsonTarget } from './json-sink.js';
export type { SinkStats } from './sink.js';
export { auditLoggerFromConfig, type AuditSettings } from './from-config.js';
