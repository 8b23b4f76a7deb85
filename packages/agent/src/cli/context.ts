import type { CliIO } from './io.js';
import {
  loadAgentConfig,
  auditLoggerFromConfig,
  type AgentConfig,
  type AuditLogger,
  type AuditEvent,
} from '@ctrl-exec/core';

export const AGENT_IDENT = 'ctrl-exec-agent';

export interface GlobalOptions {
  config?: string;
}

/**
 * What every command gets: its streams, the global options, and lazily loaded
 * configuration and audit log (a command that needs neither never reads them).
 */
export class Context {
  readonly io: CliIO;
  readonly global: GlobalOptions;
  readonly ident: string;
  #config: AgentConfig | undefined;
  #audit: AuditLogger | undefined;

  constructor(io: CliIO, global: GlobalOptions, ident = AGENT_IDENT) {
    this.io = io;
    this.global = global;
    this.ident = ident;
  }

  /** agent.conf from --config, else $CTRL_EXEC_AGENT_CONFIG, else the FHS path. Read once. */
  config(): AgentConfig {
    if (!this.#config) {
      const { config, warnings } = loadAgentConfig(this.global.config, { env: this.io.env });
      for (const w of warnings) this.err(`Warning: ${w.file}${w.line ? `:${w.line}` : ''}: ${w.message}`);
      this.#config = config;
    }
    return this.#config;
  }

  audit(): AuditLogger {
    if (!this.#audit) {
      this.#audit = auditLoggerFromConfig(this.ident, this.config());
    }
    return this.#audit;
  }

  log(event: AuditEvent): void {
    this.audit().log(event);
  }

  out(text = ''): void {
    this.io.stdout.write(`${text}\n`);
  }

  err(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }

  /** Wait until every audit line logged so far has been handed over. */
  async flushAudit(): Promise<void> {
    if (this.#audit) await this.#audit.flush();
  }

  /** Flush and close the audit log (if one was opened). */
  async close(): Promise<void> {
    const audit = this.#audit;
    this.#audit = undefined;
    if (audit) await audit.close();
  }
}
