import { dirname, isAbsolute, resolve } from 'node:path';

/** Upstream's fixed locations (FHS). Every one of them can be changed in the config. */
export const DEFAULT_DISPATCHER_CONFIG_PATH = '/etc/ctrl-exec/ctrl-exec.conf';
export const DEFAULT_AGENT_CONFIG_PATH = '/etc/ctrl-exec-agent/agent.conf';
export const DEFAULT_SCRIPTS_CONFIG_PATH = '/etc/ctrl-exec-agent/scripts.conf';

export const DEFAULT_DISPATCHER_STATE_DIR = '/var/lib/ctrl-exec';
export const DEFAULT_DISPATCHER_CA_DIR = '/etc/ctrl-exec';
export const DEFAULT_AGENT_STATE_DIR = '/var/lib/ctrl-exec-agent';
export const DEFAULT_AGENT_CA_DIR = '/etc/ctrl-exec-agent';

/** Environment variables that move the config files. */
export const DISPATCHER_CONFIG_ENV = 'CTRL_EXEC_CONFIG';
export const AGENT_CONFIG_ENV = 'CTRL_EXEC_AGENT_CONFIG';

function fromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v !== undefined && v !== '' ? v : undefined;
}

/** Where ctrl-exec.conf is read from when no path is given: $CTRL_EXEC_CONFIG, else the FHS path. */
export function defaultDispatcherConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return fromEnv(env, DISPATCHER_CONFIG_ENV) ?? DEFAULT_DISPATCHER_CONFIG_PATH;
}

/** Where agent.conf is read from when no path is given: $CTRL_EXEC_AGENT_CONFIG, else the FHS path. */
export function defaultAgentConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return fromEnv(env, AGENT_CONFIG_ENV) ?? DEFAULT_AGENT_CONFIG_PATH;
}

/** The directory relative paths inside `file` are resolved against. */
export function configBaseDir(file: string): string {
  return dirname(resolve(file));
}

/** An absolute path stays as written; a relative one is taken relative to the config file's directory. */
export function resolveConfigPath(baseDir: string, value: string): string {
  return isAbsolute(value) ? value : resolve(baseDir, value);
}
