/**
 * `ctrl-exec-api [--config <path>]`: serve until SIGTERM or SIGINT, then stop gracefully.
 * Returns the exit code (the binary sets it): 0 after a clean stop, 2 for bad usage,
 * 78 for a configuration error, 1 when the server cannot start otherwise.
 */
import { parseArgs } from 'node:util';
import { toCtrlExecError, UsageError, VERSION } from '@ctrl-exec/core';
import { startApi, type RunningApi, type StartApiOptions } from '../app/start.js';

export const USAGE = 'Usage: ctrl-exec-api [--config <path>]';

export type ApiCommand = { kind: 'serve'; configPath?: string } | { kind: 'help' } | { kind: 'version' };

export function parseApiArgs(argv: readonly string[]): ApiCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`, { cause: err });
  }
  const { values } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  if (values.config !== undefined && values.config === '') throw new UsageError(`--config needs a path\n${USAGE}`);
  return values.config !== undefined ? { kind: 'serve', configPath: values.config } : { kind: 'serve' };
}

export interface ApiIO {
  stdout(line: string): void;
  stderr(line: string): void;
  env: NodeJS.ProcessEnv;
  /** Call `handler` on each of these signals; returns a function removing the handlers. */
  onSignals(signals: readonly NodeJS.Signals[], handler: (signal: NodeJS.Signals) => void): () => void;
}

export function processIO(): ApiIO {
  return {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    onSignals(signals, handler) {
      for (const s of signals) process.on(s, handler);
      return () => {
        for (const s of signals) process.removeListener(s, handler);
      };
    },
  };
}

export async function main(argv: readonly string[], io: ApiIO = processIO(), extra: Omit<StartApiOptions, 'configPath' | 'env' | 'print' | 'warn'> = {}): Promise<number> {
  let command: ApiCommand;
  try {
    command = parseApiArgs(argv);
  } catch (err) {
    io.stderr(`ctrl-exec-api: ${(err as Error).message}`);
    return 2;
  }
  if (command.kind === 'help') {
    io.stdout(`${USAGE}\n\nServe the ctrl-exec HTTP API on api_bind:api_port of ctrl-exec.conf (default 127.0.0.1:7445).\n` +
      'The configuration is --config, else $CTRL_EXEC_CONFIG, else /etc/ctrl-exec/ctrl-exec.conf.');
    return 0;
  }
  if (command.kind === 'version') {
    io.stdout(`ctrl-exec-api ${VERSION}`);
    return 0;
  }

  let api: RunningApi;
  try {
    api = await startApi({
      ...extra,
      ...(command.configPath !== undefined ? { configPath: command.configPath } : {}),
      env: io.env,
      print: io.stdout,
      warn: io.stderr,
    });
  } catch (err) {
    const e = toCtrlExecError(err);
    io.stderr(`ctrl-exec-api: ${e.message}`);
    return e.exitCode;
  }

  let signals = 0;
  await new Promise<void>((resolve) => {
    const off = io.onSignals(['SIGTERM', 'SIGINT'], () => {
      signals++;
      if (signals === 1) {
        void api.stop().then(() => {
          off();
          resolve();
        });
      } else {
        // Asked again: stop waiting for requests in flight.
        api.app.server.closeAllConnections();
      }
    });
  });
  return 0;
}
