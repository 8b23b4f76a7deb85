import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { readConfigFile, splitConfigLines } from './line-reader.js';
import {
  configBaseDir,
  DEFAULT_AGENT_CA_DIR,
  DEFAULT_AGENT_STATE_DIR,
  defaultAgentConfigPath,
  resolveConfigPath,
} from './paths.js';
import { agentValueError, buildProfile, type AgentProfile, type RawProfile } from './profiles.js';
import { isUpstreamYes, looksLikeIgnoredYes, MAX_TIMER_SECONDS, parseIntInRange } from './values.js';
import { configError, exactConfigError, printable, type ConfigWarning } from './warning.js';

/** agent.conf, typed, with defaults applied and paths resolved. */
export interface AgentConfig {
  /** Absolute path of the file this was read from. */
  file: string;
  port: number;
  /** Listen address (ours; default 0.0.0.0). */
  bind: string;
  /** RSA size of the key made at pairing (2048-16384, default 4096). */
  keyBits: number;
  /** Agent name override (ours); unset means the host name. */
  hostname?: string;
  cert: string;
  key: string;
  ca: string;
  stateDir: string;
  /** The agent's certificate directory, where request-pairing writes (ours). */
  caDir: string;
  trustedDispatchersPath: string;
  revokedSerials: string;
  /** Unset: no restriction. Set but empty (e.g. `script_dirs = :`): nothing is allowed. */
  scriptDirs?: string[];
  executorSocket?: string;
  asyncRunsDir: string;
  authHook?: string;
  authHookTimeout: number;
  /** Comma-separated list as written; parsed by the IP allowlist module. */
  allowedIps?: string;
  rateLimitDisable: boolean;
  /** `L/W/B` specs, unparsed. */
  rateLimitVolume: string;
  rateLimitProbe: string;
  maxChildren: number;
  stdinTimeout: number;
  certStagingPath: string;
  /** Documented upstream but not used by it; `--port` is what counts. */
  pairingPort?: number;
  syslog?: string;
  syslogSocket?: string;
  syslogCa?: string;
  logJson?: string;
  /** `[tags]`: reported in /capabilities. Values keep any '#'. */
  tags: Record<string, string>;
  profiles: ReadonlyMap<string, AgentProfile>;
  /** Every top-level key = value (last one wins), as written. */
  raw: ReadonlyMap<string, string>;
  /** Line of each top-level key in `raw`. */
  lines: ReadonlyMap<string, number>;
}

export interface ParsedAgentConfig {
  config: AgentConfig;
  warnings: ConfigWarning[];
}

const INT_KEYS = {
  port: { min: 1, max: 65535 },
  pairing_port: { min: 1, max: 65535 },
  auth_hook_timeout: { min: 1, max: MAX_TIMER_SECONDS },
  max_children: { min: 1, max: 1_000_000 },
  stdin_timeout: { min: 1, max: MAX_TIMER_SECONDS },
  key_bits: { min: 2048, max: 16384 },
} as const;
type IntKey = keyof typeof INT_KEYS;

const PATH_KEYS = [
  'cert', 'key', 'ca', 'trusted_dispatchers_path', 'revoked_serials', 'executor_socket', 'async_runs_dir',
  'auth_hook', 'cert_staging_path', 'state_dir', 'ca_dir', 'syslog_socket', 'syslog_ca',
] as const;
type PathKey = (typeof PATH_KEYS)[number];
const OTHER_KEYS = [
  'script_dirs', 'allowed_ips', 'rate_limit_disable', 'rate_limit_volume', 'rate_limit_probe',
  'hostname', 'bind', 'syslog', 'log_json',
] as const;

/** Every top-level key agent.conf understands (upstream's plus ours); anything else is warned about. */
export const AGENT_CONFIG_KEYS: ReadonlySet<string> = new Set<string>([...Object.keys(INT_KEYS), ...PATH_KEYS, ...OTHER_KEYS]);

const REQUIRED_KEYS = ['port', 'cert', 'key', 'ca'] as const;

const COMMENT_OR_BLANK = /^\s*(?:#|$)/;
const SECTION = /^\s*\[\s*(\w+)(?:\s+([\w.-]+))?\s*\]\s*$/;
const KEY_LINE = /^\s*(\w+[\w-]*)\s*=\s*(.+?)\s*$/;
const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9.-]*$/;

interface Located {
  value: string;
  line: number;
}

/**
 * Parse agent.conf text with upstream's rules: whole-line `#` comments, `[tags]` and
 * `[profile <name>]` sections, `key = value` lines whose value keeps any inline `#`.
 * Any other line is fatal (CE_ERR_CONFIG), as are missing required keys
 * (CE_ERR_CONFIG_MISSING) and unusable values (CE_ERR_CONFIG_VALUE).
 */
export function parseAgentConfig(text: string, file: string): ParsedAgentConfig {
  const warnings: ConfigWarning[] = [];
  const top = new Map<string, Located>();
  const tags = new Map<string, Located>();
  const profiles = new Map<string, RawProfile>();

  type Section = { kind: 'top' } | { kind: 'tags' } | { kind: 'profile'; profile: RawProfile } | { kind: 'other'; name: string };
  let section: Section = { kind: 'top' };

  const put = (target: Map<string, Located>, key: string, value: string, line: number, where: string): void => {
    const prev = target.get(key);
    if (prev) warnings.push({ file, line, key, message: `duplicate key${where}, line ${prev.line} overridden` });
    target.set(key, { value, line });
  };

  for (const { line, text: content } of splitConfigLines(text)) {
    if (COMMENT_OR_BLANK.test(content)) continue;

    const header = SECTION.exec(content);
    if (header) {
      const name = (header[1] ?? '').toLowerCase();
      const sub = header[2];
      if (name === 'profile') {
        if (sub === undefined) {
          throw configError(`Profile section needs a name ([profile <name>]) in '${file}'`, { file, line, code: 'CE_ERR_CONFIG' });
        }
        let profile = profiles.get(sub);
        if (!profile) {
          profile = { name: sub, line, values: new Map() };
          profiles.set(sub, profile);
        }
        section = { kind: 'profile', profile };
      } else if (name === 'tags') {
        if (sub !== undefined) warnings.push({ file, line, message: `[tags ${sub}]: the name is ignored` });
        section = { kind: 'tags' };
      } else {
        warnings.push({ file, line, message: `unknown section [${name}]: its keys are ignored` });
        section = { kind: 'other', name };
      }
      continue;
    }

    const kv = KEY_LINE.exec(content);
    if (!kv) {
      throw configError(`Malformed config line in '${file}': ${printable(content)}`, { file, line, code: 'CE_ERR_CONFIG' });
    }
    const key = kv[1] ?? '';
    const value = kv[2] ?? '';
    switch (section.kind) {
      case 'top':
        put(top, key, value, line, '');
        break;
      case 'tags':
        put(tags, key, value, line, ' in [tags]');
        break;
      case 'profile':
        put(section.profile.values, key, value, line, ` in [profile ${section.profile.name}]`);
        break;
      case 'other':
        break;
    }
  }

  for (const [key, { line }] of top) {
    if (!AGENT_CONFIG_KEYS.has(key)) warnings.push({ file, line, key, message: 'unknown key ignored' });
  }
  for (const k of REQUIRED_KEYS) {
    if (!top.has(k)) {
      throw exactConfigError(`Missing required config key '${k}' in '${file}'`, { file, key: k, code: 'CE_ERR_CONFIG_MISSING' });
    }
  }

  const baseDir = configBaseDir(file);
  const str = (key: string): string | undefined => top.get(key)?.value;
  const invalid = (key: string, message: string): never => {
    const at = top.get(key);
    throw agentValueError(file, at?.line, key, message, at?.value ?? '');
  };
  const path = (key: PathKey): string | undefined => {
    const v = str(key);
    return v === undefined ? undefined : resolveConfigPath(baseDir, v);
  };
  const int = (key: IntKey, def: number): number => {
    const v = str(key);
    if (v === undefined) return def;
    const { min, max } = INT_KEYS[key];
    const n = parseIntInRange(v, min, max);
    return n ?? invalid(key, `invalid value '${printable(v)}': expected an integer from ${min} to ${max}`);
  };
  const optInt = (key: IntKey): number | undefined => (top.has(key) ? int(key, 0) : undefined);

  const port = int('port', 0);

  let scriptDirs: string[] | undefined;
  const dirs = str('script_dirs');
  if (dirs !== undefined) {
    scriptDirs = dirs.split(':').filter((d) => d !== '');
    for (const d of scriptDirs) {
      if (!d.startsWith('/')) invalid('script_dirs', `script_dirs entries must be absolute: '${printable(d)}'`);
    }
    if (scriptDirs.length === 0) {
      warnings.push({ file, line: top.get('script_dirs')?.line, key: 'script_dirs', message: 'no directory listed: every script will be refused' });
    }
  }

  const hostname = str('hostname');
  if (hostname !== undefined && (!AGENT_NAME.test(hostname) || hostname.length > 253)) {
    invalid('hostname', `invalid agent name '${printable(hostname)}' (letters, digits, '.', '_', '-'; starting with a letter or digit)`);
  }
  const bind = str('bind') ?? '0.0.0.0';
  if (isIP(bind) === 0 && !HOST_NAME.test(bind)) invalid('bind', `invalid listen address '${printable(bind)}'`);

  const rateLimitDisable = str('rate_limit_disable');
  if (rateLimitDisable !== undefined && looksLikeIgnoredYes(rateLimitDisable)) {
    warnings.push({
      file,
      line: top.get('rate_limit_disable')?.line,
      key: 'rate_limit_disable',
      message: `'${printable(rateLimitDisable)}' means off: only values starting with 1 or y switch this on`,
    });
  }

  const builtProfiles = new Map<string, AgentProfile>();
  for (const [name, p] of profiles) builtProfiles.set(name, buildProfile(p, file, warnings));

  const stateDir = path('state_dir') ?? DEFAULT_AGENT_STATE_DIR;
  const caDir = path('ca_dir') ?? DEFAULT_AGENT_CA_DIR;
  const config: AgentConfig = {
    file: resolve(file),
    port,
    bind,
    hostname,
    cert: path('cert') as string,
    key: path('key') as string,
    ca: path('ca') as string,
    stateDir,
    caDir,
    trustedDispatchersPath: path('trusted_dispatchers_path') ?? join(stateDir, 'ctrl-exec-dispatchers'),
    revokedSerials: path('revoked_serials') ?? join(caDir, 'revoked-serials'),
    scriptDirs,
    executorSocket: path('executor_socket'),
    asyncRunsDir: path('async_runs_dir') ?? join(stateDir, 'runs'),
    authHook: path('auth_hook'),
    authHookTimeout: int('auth_hook_timeout', 10),
    allowedIps: str('allowed_ips'),
    rateLimitDisable: isUpstreamYes(rateLimitDisable),
    rateLimitVolume: str('rate_limit_volume') ?? '10/60/300',
    rateLimitProbe: str('rate_limit_probe') ?? '3/600/3600',
    maxChildren: int('max_children', 256),
    stdinTimeout: int('stdin_timeout', 10),
    keyBits: int('key_bits', 4096),
    certStagingPath: path('cert_staging_path') ?? join(stateDir, 'agent.crt.staged'),
    pairingPort: optInt('pairing_port'),
    syslog: str('syslog'),
    syslogSocket: path('syslog_socket'),
    syslogCa: path('syslog_ca'),
    logJson: ((v) => (v === undefined || v === 'stdout' ? v : resolveConfigPath(baseDir, v)))(str('log_json')),
    // fromEntries defines own properties, so a key like __proto__ stays a plain tag.
    tags: Object.fromEntries([...tags].map(([k, v]) => [k, v.value])),
    profiles: builtProfiles,
    raw: new Map([...top].map(([k, v]) => [k, v.value])),
    lines: new Map([...top].map(([k, v]) => [k, v.line])),
  };
  return { config, warnings };
}

export interface LoadAgentConfigOptions {
  /** Environment consulted for the default location (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Read and parse agent.conf from `path`, else $CTRL_EXEC_AGENT_CONFIG, else
 * /etc/ctrl-exec-agent/agent.conf. As upstream, a configured `auth_hook` must be an
 * executable file at load time.
 */
export function loadAgentConfig(path?: string, options: LoadAgentConfigOptions = {}): ParsedAgentConfig {
  const file = path ?? defaultAgentConfigPath(options.env);
  const parsed = parseAgentConfig(readConfigFile(file), file);
  const hook = parsed.config.authHook;
  if (hook !== undefined && !isExecutableFile(hook)) {
    throw configError(`auth_hook '${hook}' is not an executable file`, {
      file,
      line: parsed.config.lines.get('auth_hook'),
      key: 'auth_hook',
      code: 'CE_ERR_CONFIG_VALUE',
    });
  }
  return parsed;
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
