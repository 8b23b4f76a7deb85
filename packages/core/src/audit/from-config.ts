import { createAuditLogger, type AuditLogger } from './audit-logger.js';
import { parseSyslogTarget } from './syslog-target.js';

/** The log settings ctrl-exec.conf and agent.conf share. */
export interface AuditSettings {
  file: string;
  lines: ReadonlyMap<string, number>;
  syslog?: string;
  syslogSocket?: string;
  syslogCa?: string;
  logJson?: string;
}

/** The audit logger a configuration file asks for (syslog target, optional JSON copy). */
export function auditLoggerFromConfig(ident: string, cfg: AuditSettings): AuditLogger {
  const line = cfg.lines.get('syslog');
  return createAuditLogger({
    ident,
    syslog: parseSyslogTarget(cfg.syslog ?? 'local', { socket: cfg.syslogSocket, ca: cfg.syslogCa }, { file: cfg.file, key: 'syslog', ...(line !== undefined ? { line } : {}) }),
    json: cfg.logJson === undefined ? undefined : cfg.logJson === 'stdout' ? 'stdout' : { path: cfg.logJson },
  });
}
