import type { ConfigError } from '../errors.js';
import { isProfileFalse, isProfileTrue } from './values.js';
import { configError, printable, type ConfigWarning } from './warning.js';

/** How a script runs under the executor: `[profile <name>]` in agent.conf. */
export interface AgentProfile {
  name: string;
  /** User name or numeric uid; unset means the executor's own default. */
  runAs?: string;
  /** Exactly these capabilities (CAP_* names). */
  caps: string[];
  /** Absolute paths left writable; empty means no write restriction. */
  writable: string[];
  noNewPrivileges: boolean;
  /** Line of the (first) `[profile <name>]` header. */
  line: number;
  /** The profile's keys as written. */
  raw: ReadonlyMap<string, string>;
}

/** Keys a profile section understands. */
export const PROFILE_KEYS: ReadonlySet<string> = new Set(['run_as', 'caps', 'writable', 'no_new_privileges']);

/** Profile names, as allowed by the `[profile <name>]` header. */
export const PROFILE_NAME = /^[A-Za-z0-9_.-]+$/;

/** Appended to an agent.conf value error whose value contains '#'. */
export const INLINE_COMMENT_HINT =
  "note: '#' does not start a comment after a value in agent.conf; put comments on their own line";

const CAP = /^CAP_[A-Z0-9_]+$/;
const RUN_AS = /^(?:[A-Za-z_][A-Za-z0-9_-]*|\d+)$/;
/** (uid_t)-1 means "leave unchanged" to setuid/setresuid, so it can never be a target user. */
const MAX_UID = 0xfffffffe;

/** A CE_ERR_CONFIG_VALUE error for agent.conf, with the inline-comment hint when the value holds '#'. */
export function agentValueError(file: string, line: number | undefined, key: string, message: string, value: string): ConfigError {
  const hint = value.includes('#') ? ` (${INLINE_COMMENT_HINT})` : '';
  return configError(`${message}${hint}`, { file, line, key, code: 'CE_ERR_CONFIG_VALUE' });
}

export interface RawProfile {
  name: string;
  line: number;
  values: Map<string, { value: string; line: number }>;
}

/** Validate and normalise one `[profile <name>]` section. */
export function buildProfile(rawProfile: RawProfile, file: string, warnings: ConfigWarning[]): AgentProfile {
  const { name, values } = rawProfile;
  const fail = (key: string, message: string): never => {
    const v = values.get(key);
    throw agentValueError(file, v?.line, key, `profile '${name}': ${message}`, v?.value ?? '');
  };

  for (const [key, { line }] of values) {
    if (!PROFILE_KEYS.has(key)) warnings.push({ file, line, key, message: `unknown key in [profile ${name}] ignored` });
  }

  const capsValue = values.get('caps')?.value ?? '';
  const caps = capsValue.split(/[,\s]+/).filter((c) => c !== '');
  for (const c of caps) {
    if (!CAP.test(c)) fail('caps', `invalid capability '${printable(c)}' (expected CAP_*)`);
  }

  const writableValue = values.get('writable')?.value ?? '';
  const writable = writableValue.split(':').filter((w) => w !== '');
  for (const w of writable) {
    if (!w.startsWith('/')) fail('writable', `writable path must be absolute: '${printable(w)}'`);
    if (/\s#/.test(w)) fail('writable', `writable path contains ' #': '${printable(w)}'`);
  }

  const runAs = values.get('run_as')?.value;
  if (runAs !== undefined) {
    if (!RUN_AS.test(runAs)) fail('run_as', `invalid run_as '${printable(runAs)}'`);
    if (/^\d+$/.test(runAs) && !(Number(runAs) <= MAX_UID)) {
      fail('run_as', `numeric run_as '${printable(runAs)}' is out of range (0..${MAX_UID})`);
    }
  }

  const nnp = values.get('no_new_privileges')?.value;
  let noNewPrivileges = true;
  if (nnp !== undefined) {
    noNewPrivileges = isProfileTrue(nnp);
    if (!noNewPrivileges && !isProfileFalse(nnp)) {
      // Upstream reads anything but 1/y/yes/true/on as "off". A trailing comment
      // ("yes # keep") must not silently drop the protection, so that is an error;
      // any other word keeps upstream's meaning, with a warning.
      if (nnp.includes('#')) fail('no_new_privileges', `invalid boolean '${printable(nnp)}'`);
      warnings.push({
        file,
        line: values.get('no_new_privileges')?.line,
        key: 'no_new_privileges',
        message: `profile '${name}': '${printable(nnp)}' is not a yes/no word: treated as no`,
      });
    }
  }

  const raw = new Map<string, string>();
  for (const [k, { value }] of values) raw.set(k, value);
  const profile: AgentProfile = { name, caps, writable, noNewPrivileges, line: rawProfile.line, raw };
  if (runAs !== undefined) profile.runAs = runAs;
  return profile;
}
