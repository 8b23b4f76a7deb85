/**
 * Everything the agent server decides with that may change while it runs: the safe part
 * of agent.conf, the allowlist and its schema sidecars, the revocation list and the
 * trusted-dispatcher map. Built once at start (any failure is fatal) and again on
 * SIGHUP (DESIGN §3.8: a part that fails keeps its previous value and is logged).
 */
import {
  DEFAULT_PROBE_SPEC,
  DEFAULT_VOLUME_SPEC,
  loadAgentConfig,
  loadRevokedSerials,
  loadScriptsConfig,
  parseAllowedIps,
  parseRateSpec,
  readTrustedMap,
  validateProfilesReferenced,
  type AgentConfig,
  type AuditEvent,
  type ConfigWarning,
  type IpAllowlist,
  type RateSpec,
  type RevocationList,
  type ScriptEntry,
  type TrustedMap,
} from '@ctrl-exec/core';
import { loadSchemas, type ScriptSchema } from './schemas.js';

/** agent.conf keys a SIGHUP applies (DESIGN §3.8). */
export const RELOADABLE_KEYS: readonly string[] = Object.freeze([
  'allowed_ips',
  'rate_limit_disable',
  'rate_limit_volume',
  'rate_limit_probe',
  'auth_hook',
  'auth_hook_timeout',
  'script_dirs',
  'stdin_timeout',
  'max_children',
]);

/** agent.conf keys whose change only a restart applies. */
export const RESTART_KEYS: readonly string[] = Object.freeze([
  'port',
  'bind',
  'cert',
  'key',
  'ca',
  'hostname',
  'trusted_dispatchers_path',
  'revoked_serials',
  'async_runs_dir',
  'cert_staging_path',
  'executor_socket',
  'state_dir',
  'ca_dir',
  'syslog',
  'syslog_socket',
  'syslog_ca',
  'log_json',
]);

export interface ServerSettings {
  allowedIps: IpAllowlist | undefined;
  volume: RateSpec;
  probe: RateSpec;
  rateLimitDisable: boolean;
  authHook: string | undefined;
  authHookTimeoutMs: number;
  tags: Readonly<Record<string, string>>;
  scriptDirs: readonly string[] | undefined;
  stdinTimeoutMs: number;
  maxChildren: number;
}

export interface ServerState {
  /** agent.conf as last applied (its restart-only values are those read at start). */
  config: AgentConfig;
  settings: ServerSettings;
  scripts: ReadonlyMap<string, ScriptEntry>;
  schemas: ReadonlyMap<string, ScriptSchema>;
  revoked: RevocationList;
  trusted: TrustedMap;
}

export interface StateLoad {
  state: ServerState;
  /** config-warn, schema-skip, revoked-serials-absent... to be logged. */
  events: AuditEvent[];
  /** scripts.conf warnings, for stderr at start. */
  warnings: ConfigWarning[];
}

function warnEvent(w: ConfigWarning): AuditEvent {
  const where = `${w.file}${w.line ? `:${w.line}` : ''}`;
  const event: AuditEvent = { action: 'config-warn', msg: `${where}: ${w.message}` };
  if (w.entry !== undefined) event.entry = w.entry;
  else if (w.key !== undefined) event.key = w.key;
  return event;
}

/** The settings of agent.conf, with their own warnings (allowed_ips entries, rate specs). */
export function settingsFrom(config: AgentConfig): { settings: ServerSettings; events: AuditEvent[] } {
  const events: AuditEvent[] = [];
  const ips = parseAllowedIps(config.allowedIps);
  for (const w of ips.warnings) events.push({ action: 'config-warn', entry: w.entry, msg: w.message });
  const volume = parseRateSpec(config.rateLimitVolume, DEFAULT_VOLUME_SPEC);
  if (volume.warning) events.push({ action: 'config-warn', key: 'rate_limit_volume', msg: volume.warning });
  const probe = parseRateSpec(config.rateLimitProbe, DEFAULT_PROBE_SPEC);
  if (probe.warning) events.push({ action: 'config-warn', key: 'rate_limit_probe', msg: probe.warning });
  return {
    settings: {
      allowedIps: ips.list,
      volume: volume.spec,
      probe: probe.spec,
      rateLimitDisable: config.rateLimitDisable,
      authHook: config.authHook,
      authHookTimeoutMs: config.authHookTimeout * 1000,
      tags: { ...config.tags },
      scriptDirs: config.scriptDirs,
      stdinTimeoutMs: config.stdinTimeout * 1000,
      maxChildren: config.maxChildren,
    },
    events,
  };
}

interface Allowlist {
  scripts: Map<string, ScriptEntry>;
  schemas: Map<string, ScriptSchema>;
  events: AuditEvent[];
  warnings: ConfigWarning[];
}

/** scripts.conf under `config`'s script_dirs, with every referenced profile defined. Throws ConfigError. */
export function loadAllowlist(config: AgentConfig, allowlistPath: string): Allowlist {
  const parsed = loadScriptsConfig(allowlistPath, { scriptDirs: config.scriptDirs });
  validateProfilesReferenced(config, parsed.scripts);
  const { schemas, events } = loadSchemas(parsed.scripts.values());
  return { scripts: parsed.scripts, schemas, events: [...parsed.warnings.map(warnEvent), ...events], warnings: parsed.warnings };
}

function loadRevocation(config: AgentConfig): { revoked: RevocationList; events: AuditEvent[] } {
  const r = loadRevokedSerials(config.revokedSerials);
  const events: AuditEvent[] = [];
  if (r.absent) events.push({ action: 'revoked-serials-absent', path: config.revokedSerials, reason: 'file not found' });
  for (const w of r.warnings) events.push({ action: 'config-warn', entry: w.entry, msg: `${config.revokedSerials}:${w.line}: ${w.message}` });
  return { revoked: r.revoked, events };
}

function loadTrusted(config: AgentConfig): { trusted: TrustedMap; events: AuditEvent[] } {
  const trusted = readTrustedMap(config.trustedDispatchersPath);
  const events: AuditEvent[] = trusted.warnings.map((w) => ({
    action: 'config-warn',
    entry: w.entry,
    msg: `${config.trustedDispatchersPath}:${w.line}: ${w.message}`,
  }));
  return { trusted, events };
}

/** The state at start. Any failure throws (ConfigError, or CtrlExecError CE_ERR_FS). */
export function loadInitialState(config: AgentConfig, allowlistPath: string): StateLoad {
  const { settings, events } = settingsFrom(config);
  const allowlist = loadAllowlist(config, allowlistPath);
  const revocation = loadRevocation(config);
  const trusted = loadTrusted(config);
  return {
    state: {
      config,
      settings,
      scripts: allowlist.scripts,
      schemas: allowlist.schemas,
      revoked: revocation.revoked,
      trusted: trusted.trusted,
    },
    events: [...events, ...allowlist.events, ...revocation.events, ...trusted.events],
    warnings: allowlist.warnings,
  };
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The start-time config with the reloadable values (and profiles, tags) of `fresh`. */
export function mergeReloadable(current: AgentConfig, fresh: AgentConfig): AgentConfig {
  return {
    ...current,
    allowedIps: fresh.allowedIps,
    rateLimitDisable: fresh.rateLimitDisable,
    rateLimitVolume: fresh.rateLimitVolume,
    rateLimitProbe: fresh.rateLimitProbe,
    authHook: fresh.authHook,
    authHookTimeout: fresh.authHookTimeout,
    scriptDirs: fresh.scriptDirs,
    stdinTimeout: fresh.stdinTimeout,
    maxChildren: fresh.maxChildren,
    tags: fresh.tags,
    profiles: fresh.profiles,
  };
}

/**
 * SIGHUP: re-read agent.conf (its safe keys), scripts.conf with sidecars, the revocation
 * list and the trusted map. agent.conf and scripts.conf are applied together or not at
 * all; the revocation list and the map each on their own. Never throws.
 */
export function reloadState(current: ServerState, allowlistPath: string): { state: ServerState; events: AuditEvent[] } {
  const events: AuditEvent[] = [];
  let config = current.config;
  let settings = current.settings;
  let scripts = current.scripts;
  let schemas = current.schemas;

  let fresh: AgentConfig | undefined;
  try {
    const loaded = loadAgentConfig(current.config.file);
    fresh = loaded.config;
    events.push(...loaded.warnings.map(warnEvent));
  } catch (err) {
    events.push({ action: 'config-warn', key: 'agent.conf', msg: `reload failed, previous configuration kept: ${reason(err)}` });
  }
  if (fresh) {
    for (const key of RESTART_KEYS) {
      if (current.config.raw.get(key) !== fresh.raw.get(key)) {
        events.push({ action: 'config-warn', key, msg: 'changed in agent.conf: restart ctrl-exec-agent to apply' });
      }
    }
  }
  const candidate = fresh ? mergeReloadable(current.config, fresh) : current.config;
  try {
    const allowlist = loadAllowlist(candidate, allowlistPath);
    const applied = settingsFrom(candidate);
    config = candidate;
    settings = applied.settings;
    scripts = allowlist.scripts;
    schemas = allowlist.schemas;
    events.push(...applied.events, ...allowlist.events);
  } catch (err) {
    events.push({
      action: 'config-warn',
      key: 'scripts.conf',
      msg: `reload failed, previous configuration and allowlist kept: ${reason(err)}`,
    });
  }

  let revoked = current.revoked;
  try {
    const r = loadRevocation(current.config);
    revoked = r.revoked;
    events.push(...r.events);
  } catch (err) {
    events.push({ action: 'config-warn', key: 'revoked_serials', msg: `reload failed, previous list kept: ${reason(err)}` });
  }
  let trusted = current.trusted;
  try {
    const t = loadTrusted(current.config);
    trusted = t.trusted;
    events.push(...t.events);
  } catch (err) {
    events.push({ action: 'config-warn', key: 'trusted_dispatchers_path', msg: `reload failed, previous map kept: ${reason(err)}` });
  }
  return { state: { config, settings, scripts, schemas, revoked, trusted }, events };
}
