import type { CliIO } from './io.js';
import {
  loadDispatcherConfig,
  auditLoggerFromConfig,
  type DispatcherConfig,
  type AuditLogger,
  type AuditEvent,
} from '@ctrl-exec/core';

export interface GlobalOptions {
  config?: string;
  json?: boolean;
}

/**
 * What every command gets: its streams, the global options, and lazily loaded
 * configuration and audit log (a command that needs neither never reads them).
 */
export class Context {
  readonly io: CliIO;
  readonly global: GlobalOptions;
  readonly ident: string;
  #config: DispatcherConfig | undefined;
  #audit: AuditLogger | undefined;

  constructor(io: CliIO, global: GlobalOptions, ident = 'ctrl-exec-dispatcher') {
    this.io = io;
    this.global = global;
    this.ident = ident;
  }

  get json(): boolean {
    return this.global.json === true;
  }

  config(): DispatcherConfig {
    if (!this.#config) {
      const { config, warnings } = loadDispatcherConfig(this.global.config, { env: this.io.env });
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

  printJson(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value)}\n`);
  }

  async close(): Promise<void> {
    if (this.#audit) await this.#audit.close();
  }
}
