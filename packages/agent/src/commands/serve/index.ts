import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import type { Command } from 'commander';
import { CtrlExecError, prepareScriptPipes, type AgentConfig, type AuditLogger } from '@ctrl-exec/core';
import type { CommandSpec } from '../../cli/command.js';
import type { Context } from '../../cli/context.js';
import { resolveAgentName } from '../../pairing/agent-name.js';
import { AgentServer, DEFAULT_SHUTDOWN_GRACE_MS } from '../../server/server.js';
import { loadInitialState, type StateLoad } from '../../server/state.js';
import { allowlistPathFor, configFailure, configPathFor, formatWarning, notPaired, profileWarnings } from './startup.js';

export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'run the agent: answer dispatchers on the mutual-TLS port (default 7443)',
  configure(cmd: Command) {
    cmd.option('--allowlist <path>', 'scripts.conf (default: scripts.conf in the agent certificate directory, ca_dir)');
  },
  async run(ctx: Context, _args: string[], opts: Record<string, unknown>): Promise<number> {
    const allowlistOption = typeof opts.allowlist === 'string' ? opts.allowlist : undefined;
    const configPath = configPathFor(ctx);
    let config: AgentConfig;
    try {
      config = ctx.config();
    } catch (err) {
      throw configFailure(err, configPath, allowlistPathFor(undefined, allowlistOption));
    }
    const allowlistPath = allowlistPathFor(config, allowlistOption);
    const missing = notPaired(config);
    if (missing) throw missing;

    let loaded: StateLoad;
    let audit: AuditLogger;
    try {
      loaded = loadInitialState(config, allowlistPath);
      audit = ctx.audit();
    } catch (err) {
      throw configFailure(err, config.file, allowlistPath);
    }
    for (const w of loaded.warnings) ctx.err(formatWarning(w));
    for (const line of profileWarnings(config, loaded.state.scripts.values())) ctx.err(line);

    let tls: { cert: Buffer; key: Buffer; ca: Buffer };
    try {
      tls = { cert: readFileSync(config.cert), key: readFileSync(config.key), ca: readFileSync(config.ca) };
    } catch (err) {
      throw new CtrlExecError('CE_ERR_FS', `ctrl-exec-agent: cannot start - cannot read the agent certificates: ${(err as Error).message}`, { cause: err });
    }

    const name = await resolveAgentName({ configured: config.hostname }).then(
      (r) => r.name,
      () => osHostname(),
    );

    let fatal: Error | undefined;
    let stop: (() => void) | undefined;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    let server: AgentServer;
    try {
      server = new AgentServer({
        state: loaded.state,
        allowlistPath,
        tls,
        audit,
        name,
        env: ctx.io.env,
        onFatal: (err) => {
          fatal = err;
          stop?.();
        },
      });
    } catch (err) {
      throw new CtrlExecError(
        'CE_ERR_CONFIG_VALUE',
        `ctrl-exec-agent: cannot start - the agent certificate, key or CA cannot be used: ${(err as Error).message}`,
        { cause: err },
      );
    }
    for (const e of loaded.events) audit.log(e);
    // scripts get real pipes (FIFOs) for stdio; without mkfifo they fall back to sockets
    prepareScriptPipes({ onFallback: (reason) => audit.log({ action: 'config-warn', key: 'script-pipes', msg: `scripts get socket stdio: ${reason}` }) });

    const onHup = () => {
      server.reload();
    };
    const onStop = () => stop?.();
    process.on('SIGHUP', onHup);
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    try {
      let address;
      try {
        address = await server.listen();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        throw new CtrlExecError('CE_ERR_INTERNAL', `ctrl-exec-agent: cannot listen on ${config.bind}:${config.port}: ${code}`, { cause: err });
      }
      audit.log({ action: 'start', port: address.port });
      ctx.out(`ctrl-exec-agent listening on ${config.bind}:${address.port}`);
      await stopped;
      await server.close(DEFAULT_SHUTDOWN_GRACE_MS);
    } finally {
      process.off('SIGHUP', onHup);
      process.off('SIGTERM', onStop);
      process.off('SIGINT', onStop);
    }
    if (fatal) {
      ctx.err(`ctrl-exec-agent: listener failed: ${(fatal as NodeJS.ErrnoException).code ?? fatal.message}`);
      return 1;
    }
    return 0;
  },
};
