/** What `serve` checks and says before it listens (features 65-67). */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  CtrlExecError,
  DEFAULT_AGENT_CA_DIR,
  DEFAULT_PROFILE_NAME,
  INLINE_COMMENT_HINT,
  defaultAgentConfigPath,
  type AgentConfig,
  type ConfigWarning,
  type ScriptEntry,
} from '@ctrl-exec/core';
import type { Context } from '../../cli/context.js';

export const SCRIPTS_CONF = 'scripts.conf';

/** agent.conf as this run reads it: --config, else $CTRL_EXEC_AGENT_CONFIG, else the FHS path. */
export function configPathFor(ctx: Context): string {
  return resolve(ctx.global.config ?? defaultAgentConfigPath(ctx.io.env));
}

/** scripts.conf: --allowlist, else `scripts.conf` in the agent's certificate directory (ca_dir). */
export function allowlistPathFor(config: AgentConfig | undefined, option: string | undefined): string {
  if (option !== undefined) return resolve(option);
  return join(config?.caDir ?? DEFAULT_AGENT_CA_DIR, SCRIPTS_CONF);
}

/** Feature 65: the framed message for any configuration error, exit 78. Other errors pass through. */
export function configFailure(err: unknown, configPath: string, allowlistPath: string): unknown {
  if (!(err instanceof CtrlExecError) || err.exitCode !== 78) return err;
  const message = [
    'ctrl-exec-agent: cannot start - configuration error.',
    '',
    `  ${err.message}`,
    '',
    `  Check the agent configuration (${configPath})`,
    `  and the script allowlist (${allowlistPath}).`,
    `  ${INLINE_COMMENT_HINT.replace(/^note/, 'Note')}.`,
  ].join('\n');
  return new CtrlExecError(err.code, message, { cause: err, details: err.details });
}

/** Feature 66: certificate, key or CA missing, exit 78. */
export function notPaired(config: AgentConfig): CtrlExecError | undefined {
  const missing = (
    [
      ['certificate', config.cert],
      ['private key', config.key],
      ['CA certificate', config.ca],
    ] as const
  ).filter(([, path]) => !existsSync(path));
  if (missing.length === 0) return undefined;
  const message = [
    'ctrl-exec-agent: cannot start - this agent has not been paired yet.',
    '',
    ...missing.map(([what, path]) => `  Missing ${what}: ${path}`),
    '',
    '  Pair it with the dispatcher first:',
    '    ctrl-exec-agent request-pairing --dispatcher <dispatcher-host>',
    '  then approve the request on the dispatcher and start the agent again.',
  ].join('\n');
  return new CtrlExecError('CE_ERR_NOT_PAIRED', message, { details: { missing: missing.map(([, p]) => p) } });
}

export function formatWarning(w: ConfigWarning): string {
  return `Warning: ${w.file}${w.line ? `:${w.line}` : ''}: ${w.message}`;
}

/**
 * Feature 67: profiles are not applied by this agent (there is no privilege-separated
 * executor yet), so scripts that ask for one run as the agent's own user.
 */
export function profileWarnings(config: AgentConfig, scripts: Iterable<ScriptEntry>): string[] {
  const lines: string[] = [];
  const named = [...scripts].filter((s) => s.profile !== DEFAULT_PROFILE_NAME);
  if (named.length > 0) {
    const list = named
      .map((s) => `${s.name} (${s.profile})`)
      .sort()
      .join(', ');
    lines.push(
      `Warning: scripts declare profiles but profiles are NOT enforced by this agent: they run as the agent's own user. Scripts: ${list}`,
    );
  }
  if (config.executorSocket !== undefined) {
    lines.push(
      `Warning: executor_socket (${config.executorSocket}) is set, but privilege separation is not supported by this agent: scripts run directly as the agent's own user.`,
    );
  }
  return lines;
}
