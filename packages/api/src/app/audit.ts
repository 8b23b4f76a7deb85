/** The API's audit logger, from ctrl-exec.conf as the CLI builds its own (ident `ctrl-exec-api`). */
import { createAuditLogger, parseSyslogTarget, type AuditLogger, type DispatcherConfig } from '@ctrl-exec/core';

export const API_IDENT = 'ctrl-exec-api';

export function apiAuditLogger(config: DispatcherConfig): AuditLogger {
  return createAuditLogger({
    ident: API_IDENT,
    syslog: parseSyslogTarget(config.syslog ?? 'local', { socket: config.syslogSocket, ca: config.syslogCa }, { file: config.file, line: config.lines.get('syslog'), key: 'syslog' }),
    json: config.logJson === undefined ? undefined : config.logJson === 'stdout' ? 'stdout' : { path: config.logJson },
  });
}
