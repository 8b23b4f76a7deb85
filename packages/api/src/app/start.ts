/**
 * startApi: read ctrl-exec.conf, build the server, listen on `api_bind:api_port`, print
 * and audit the start. stop() stops accepting, lets requests in flight finish (up to a
 * deadline, then closes what is left), audits `api-stop` and releases everything.
 * Exit codes are the binary's business.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { CtrlExecError, type AuditLogger, type DispatcherConfig } from '@ctrl-exec/core';
import { loadApiConfig } from './config.js';
import { apiAuditLogger } from './audit.js';
import { buildApiServer, type ApiServerOptions } from './build.js';

export const DEFAULT_SHUTDOWN_DEADLINE_MS = 10_000;

export interface StartApiOptions extends Omit<ApiServerOptions, 'config' | 'audit'> {
  /** The configuration itself; else read from configPath. */
  config?: DispatcherConfig;
  /** ctrl-exec.conf; default $CTRL_EXEC_CONFIG, else /etc/ctrl-exec/ctrl-exec.conf. */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  /** Default: built from the config. Closed by stop() either way. */
  audit?: AuditLogger;
  /** The listening line. Default: stdout. */
  print?: (line: string) => void;
  /** Configuration warnings. Default: stderr. */
  warn?: (line: string) => void;
  /** How long stop() lets requests in flight run. Default 10 s. */
  shutdownDeadlineMs?: number;
}

export interface RunningApi {
  readonly app: FastifyInstance;
  readonly config: DispatcherConfig;
  readonly bind: string;
  /** The port actually listened on (api_port = 0 picks one). */
  readonly port: number;
  readonly tls: boolean;
  /** `http://127.0.0.1:7445` or `https://...`. */
  readonly url: string;
  /** Stop gracefully; resolves once everything is closed. Safe to call more than once. */
  stop(): Promise<void>;
}

function urlHost(bind: string): string {
  const host = bind === '0.0.0.0' ? '127.0.0.1' : bind === '::' ? '::1' : bind;
  return host.includes(':') ? `[${host}]` : host;
}

export async function startApi(options: StartApiOptions = {}): Promise<RunningApi> {
  const warn = options.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  let config = options.config;
  if (!config) {
    const loaded = loadApiConfig(options.configPath, options.env ? { env: options.env } : {});
    for (const w of loaded.warnings) warn(`Warning: ${w.file}${w.line ? `:${w.line}` : ''}: ${w.message}`);
    config = loaded.config;
  }
  const audit = options.audit ?? apiAuditLogger(config);
  let app: FastifyInstance;
  try {
    app = await buildApiServer({ ...options, config, audit });
  } catch (err) {
    await audit.close();
    throw err;
  }
  const tls = config.apiCert !== undefined && config.apiKey !== undefined;
  try {
    await app.listen({ host: config.apiBind, port: config.apiPort });
  } catch (err) {
    await app.close();
    await audit.close();
    const code = (err as NodeJS.ErrnoException).code;
    throw new CtrlExecError('CE_ERR_INTERNAL', `cannot listen on ${config.apiBind}:${config.apiPort}: ${code ?? (err as Error).message}`, {
      cause: err,
      details: { bind: config.apiBind, port: config.apiPort, errno: code },
    });
  }
  const port = (app.server.address() as AddressInfo).port;
  const bind = config.apiBind;
  audit.log({ action: 'api-start', bind, port, tls: tls ? 'yes' : 'no' });
  print(`ctrl-exec API listening on ${bind}:${port} (${tls ? 'TLS' : 'plain HTTP'})`);

  const deadlineMs = options.shutdownDeadlineMs ?? DEFAULT_SHUTDOWN_DEADLINE_MS;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          // Whatever is still running after the deadline is cut off.
          app.server.closeAllConnections();
          resolve();
        }, deadlineMs);
      });
      try {
        await Promise.race([app.close(), deadline]);
        await app.close();
      } finally {
        clearTimeout(timer);
        audit.log({ action: 'api-stop' });
        await audit.close();
      }
    })();
    return stopping;
  };

  return {
    app,
    config,
    bind,
    port,
    tls,
    url: `${tls ? 'https' : 'http'}://${urlHost(bind)}:${port}`,
    stop,
  };
}
