import { join, resolve } from 'node:path';
import { readConfigFile, splitConfigLines } from './line-reader.js';
import {
  configBaseDir,
  DEFAULT_DISPATCHER_CA_DIR,
  DEFAULT_DISPATCHER_STATE_DIR,
  defaultDispatcherConfigPath,
  resolveConfigPath,
} from './paths.js';
import { isUpstreamYes, looksLikeIgnoredYes, MAX_TIMER_SECONDS, parseIntInRange } from './values.js';
import { configError, exactConfigError, printable, type ConfigWarning } from './warning.js';

/** Files and directories the dispatcher uses, all absolute. */
export interface DispatcherPaths {
  stateDir: string;
  caDir: string;
  /** `registry_dir`, else <state_dir>/agents */
  registryDir: string;
  runsDir: string;
  locksDir: string;
  pairingDir: string;
  /** `rotation_file`, else <state_dir>/rotation.json */
  rotationFile: string;
  pairingPidFile: string;
  caKey: string;
  caCert: string;
  caSerial: string;
}

/** ctrl-exec.conf, typed, with defaults applied and paths resolved. */
export interface DispatcherConfig {
  /** Absolute path of the file this was read from. */
  file: string;
  cert: string;
  key: string;
  ca: string;
  authHook?: string;
  authHookTimeout: number;
  apiAuthDefault: 'allow' | 'deny';
  authDenyGeneric: boolean;
  /** `read_timeout`, else its alias `timeout`, else 60. */
  readTimeout: number;
  maxParallel: number;
  /**
   * `agent_keepalive` (ours, default on): keep connections to agents open and reuse TLS
   * sessions. Off: every request to an agent opens its own connection with a full TLS
   * handshake, as upstream does (for comparison and for middleboxes that dislike idle
   * connections).
   */
  agentKeepAlive: boolean;
  apiPort: number;
  apiBind: string;
  apiCert?: string;
  apiKey?: string;
  apiMaxChildren: number;
  /** Unset means the caller's default: 365 for agent renewals, 825 for rotation and setup. */
  certDays?: number;
  certRenewalDays: number;
  certOverlapDays: number;
  certCheckInterval: number;
  caDir: string;
  stateDir: string;
  keyBits: number;
  /** As written; see sanitiseDispatcherId. */
  dispatcherId?: string;
  serviceUser: string;
  pairingMaxQueue: number;
  pairingTimeout: number;
  pairingPort: number;
  /** `L/W/B` spec, unparsed. */
  pairingRateLimitVolume: string;
  pairingRateLimitDisable: boolean;
  /** Log destination as written: `local`, `none`, `tcp://host:port`, `tls://host:port`... */
  syslog?: string;
  syslogSocket?: string;
  syslogCa?: string;
  logJson?: string;
  paths: DispatcherPaths;
  /** Every key = value the file set (last one wins), as written. */
  raw: ReadonlyMap<string, string>;
  /** Line of each key in `raw`. */
  lines: ReadonlyMap<string, number>;
}

export interface ParsedDispatcherConfig {
  config: DispatcherConfig;
  warnings: ConfigWarning[];
}

/** Renewals of agent certs default to this many days when `cert_days` is unset. */
export const DEFAULT_RENEWAL_CERT_DAYS = 365;
/** Dispatcher rotation, setup and pairing certificates. */
export const DEFAULT_ROTATION_CERT_DAYS = 825;
export const MIN_KEY_BITS = 2048;

interface IntSpec {
  def: number | undefined;
  min: number;
  max: number;
}

const INT_KEYS = {
  auth_hook_timeout: { def: 10, min: 1, max: MAX_TIMER_SECONDS },
  read_timeout: { def: 60, min: 1, max: MAX_TIMER_SECONDS },
  max_parallel: { def: 64, min: 1, max: 1_000_000 },
  api_port: { def: 7445, min: 0, max: 65535 },
  api_max_children: { def: 64, min: 1, max: 1_000_000 },
  cert_days: { def: undefined, min: 1, max: 36500 },
  cert_renewal_days: { def: 90, min: 0, max: 36500 },
  cert_overlap_days: { def: 30, min: 0, max: 36500 },
  cert_check_interval: { def: 14400, min: 1, max: MAX_TIMER_SECONDS },
  pairing_max_queue: { def: 10, min: 1, max: 1_000_000 },
  pairing_timeout: { def: 600, min: 1, max: 600 },
  pairing_port: { def: 7444, min: 1, max: 65535 },
  key_bits: { def: 4096, min: MIN_KEY_BITS, max: 16384 },
} as const satisfies Record<string, IntSpec>;
type IntKey = keyof typeof INT_KEYS;

const PATH_KEYS = [
  'cert', 'key', 'ca', 'auth_hook', 'api_cert', 'api_key', 'ca_dir', 'state_dir',
  'registry_dir', 'rotation_file', 'syslog_socket', 'syslog_ca',
] as const;
const STRING_KEYS = [
  'api_bind', 'dispatcher_id', 'service_user', 'pairing_rate_limit_volume', 'api_auth_default',
  'auth_deny_generic', 'pairing_rate_limit_disable', 'timeout', 'syslog', 'log_json',
  'agent_keepalive',
] as const;

/** Every key ctrl-exec.conf understands (upstream's plus ours); anything else is warned about. */
export const DISPATCHER_CONFIG_KEYS: ReadonlySet<string> = new Set<string>([
  ...Object.keys(INT_KEYS),
  ...PATH_KEYS,
  ...STRING_KEYS,
]);

const REQUIRED_KEYS = ['cert', 'key', 'ca'] as const;

const KEY_LINE = /^\s*([A-Za-z0-9_]+)\s*=\s*(.+?)\s*$/;

/**
 * Parse ctrl-exec.conf text with upstream's rules: a line starting with whitespace
 * or `#` is skipped, otherwise `key = value` (no sections, no inline comments).
 * Lines upstream ignores and unknown keys give warnings; a missing cert/key/ca or
 * an unusable value is a ConfigError.
 */
export function parseDispatcherConfig(text: string, file: string): ParsedDispatcherConfig {
  const warnings: ConfigWarning[] = [];
  const raw = new Map<string, string>();
  const lineOf = new Map<string, number>();

  for (const { line, text: content } of splitConfigLines(text)) {
    if (/^\s*$/.test(content) || content.startsWith('#')) continue;
    if (/^\s/.test(content)) {
      // Upstream skips every line that starts with whitespace, even a real setting.
      if (KEY_LINE.test(content)) {
        warnings.push({ file, line, message: 'indented line ignored: settings must start at the beginning of the line' });
      }
      continue;
    }
    const m = KEY_LINE.exec(content);
    if (!m) {
      warnings.push({ file, line, message: `ignored line, not 'key = value': ${printable(content)}` });
      continue;
    }
    const key = m[1] ?? '';
    const value = m[2] ?? '';
    if (raw.has(key)) warnings.push({ file, line, key, message: `duplicate key, line ${lineOf.get(key)} overridden` });
    raw.set(key, value);
    lineOf.set(key, line);
  }

  for (const [key, line] of lineOf) {
    if (!DISPATCHER_CONFIG_KEYS.has(key)) warnings.push({ file, line, key, message: 'unknown key ignored' });
  }

  for (const k of REQUIRED_KEYS) {
    if (!raw.has(k)) throw exactConfigError(`Missing '${k}' in ${file}`, { file, key: k, code: 'CE_ERR_CONFIG_MISSING' });
  }

  const baseDir = configBaseDir(file);
  const str = (key: string): string | undefined => raw.get(key);
  const path = (key: (typeof PATH_KEYS)[number]): string | undefined => {
    const v = raw.get(key);
    return v === undefined ? undefined : resolveConfigPath(baseDir, v);
  };
  const int = (key: IntKey, fromKey: string = key): number | undefined => {
    const spec: IntSpec = INT_KEYS[key];
    const v = raw.get(fromKey);
    if (v === undefined) return spec.def;
    const n = parseIntInRange(v, spec.min, spec.max);
    if (n === undefined) {
      throw configError(`invalid value '${printable(v)}': expected an integer from ${spec.min} to ${spec.max}`, {
        file,
        line: lineOf.get(fromKey),
        key: fromKey,
        code: 'CE_ERR_CONFIG_VALUE',
      });
    }
    return n;
  };
  const num = (key: IntKey, fromKey: string = key): number => {
    const n = int(key, fromKey);
    if (n === undefined) throw new Error(`no default for ${key}`);
    return n;
  };
  const bool = (key: string): boolean => {
    const v = raw.get(key);
    if (v !== undefined && looksLikeIgnoredYes(v)) {
      warnings.push({ file, line: lineOf.get(key), key, message: `'${printable(v)}' means off: only values starting with 1 or y switch this on` });
    }
    return isUpstreamYes(v);
  };

  let apiAuthDefault: 'allow' | 'deny' = 'deny';
  const authDefault = raw.get('api_auth_default');
  if (authDefault !== undefined) {
    const lower = authDefault.toLowerCase();
    if (lower === 'allow') apiAuthDefault = 'allow';
    else if (lower !== 'deny') {
      warnings.push({ file, line: lineOf.get('api_auth_default'), key: 'api_auth_default', message: `'${printable(authDefault)}' is neither allow nor deny: using deny` });
    }
  }

  // `timeout` is an alias of `read_timeout`; read_timeout wins when both are set.
  const readTimeout = num('read_timeout', !raw.has('read_timeout') && raw.has('timeout') ? 'timeout' : 'read_timeout');

  const stateDir = path('state_dir') ?? DEFAULT_DISPATCHER_STATE_DIR;
  const caDir = path('ca_dir') ?? DEFAULT_DISPATCHER_CA_DIR;
  const paths: DispatcherPaths = {
    stateDir,
    caDir,
    registryDir: path('registry_dir') ?? join(stateDir, 'agents'),
    runsDir: join(stateDir, 'runs'),
    locksDir: join(stateDir, 'locks'),
    pairingDir: join(stateDir, 'pairing'),
    rotationFile: path('rotation_file') ?? join(stateDir, 'rotation.json'),
    pairingPidFile: join(stateDir, 'pairing-mode.pid'),
    caKey: join(caDir, 'ca.key'),
    caCert: join(caDir, 'ca.crt'),
    caSerial: join(caDir, 'ca.serial'),
  };

  const config: DispatcherConfig = {
    file: resolve(file),
    cert: path('cert') as string,
    key: path('key') as string,
    ca: path('ca') as string,
    authHook: path('auth_hook'),
    authHookTimeout: num('auth_hook_timeout'),
    apiAuthDefault,
    authDenyGeneric: bool('auth_deny_generic'),
    readTimeout,
    maxParallel: num('max_parallel'),
    agentKeepAlive: raw.has('agent_keepalive') ? bool('agent_keepalive') : true,
    apiPort: num('api_port'),
    apiBind: str('api_bind') ?? '127.0.0.1',
    apiCert: path('api_cert'),
    apiKey: path('api_key'),
    apiMaxChildren: num('api_max_children'),
    certDays: int('cert_days'),
    certRenewalDays: num('cert_renewal_days'),
    certOverlapDays: num('cert_overlap_days'),
    certCheckInterval: num('cert_check_interval'),
    caDir,
    stateDir,
    keyBits: num('key_bits'),
    dispatcherId: str('dispatcher_id'),
    serviceUser: str('service_user') ?? 'ctrl-exec',
    pairingMaxQueue: num('pairing_max_queue'),
    pairingTimeout: num('pairing_timeout'),
    pairingPort: num('pairing_port'),
    pairingRateLimitVolume: str('pairing_rate_limit_volume') ?? '10/60/300',
    pairingRateLimitDisable: bool('pairing_rate_limit_disable'),
    syslog: str('syslog'),
    syslogSocket: path('syslog_socket'),
    syslogCa: path('syslog_ca'),
    logJson: ((v) => (v === undefined || v === 'stdout' ? v : resolveConfigPath(baseDir, v)))(str('log_json')),
    paths,
    raw,
    lines: lineOf,
  };
  return { config, warnings };
}

export interface LoadConfigOptions {
  /** Environment consulted for the default location (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Read and parse ctrl-exec.conf from `path`, else $CTRL_EXEC_CONFIG, else
 * /etc/ctrl-exec/ctrl-exec.conf. A missing file is CE_ERR_CONFIG_MISSING.
 */
export function loadDispatcherConfig(path?: string, options: LoadConfigOptions = {}): ParsedDispatcherConfig {
  const file = path ?? defaultDispatcherConfigPath(options.env);
  return parseDispatcherConfig(readConfigFile(file), file);
}
