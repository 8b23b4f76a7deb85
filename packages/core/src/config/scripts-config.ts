import { realpathSync } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';
import { readConfigFile, splitConfigLines } from './line-reader.js';
import { PROFILE_NAME } from './profiles.js';
import { MAX_TIMER_SECONDS, parseByteSize, parseIntInRange } from './values.js';
import { printable, type ConfigWarning } from './warning.js';

/** One allowlisted script: `name = /abs/path [profile=x] [timeout=N] [max_output=N|NK|NM]`. */
export interface ScriptEntry {
  name: string;
  /** Absolute path as written. */
  path: string;
  /** Profile name; `default` when not annotated. */
  profile: string;
  /** `timeout=` annotation (ours): kill the script after this many seconds. */
  timeoutSec?: number;
  /** `max_output=` annotation (ours): per-stream capture cap in bytes. */
  maxOutputBytes?: number;
  /** All annotations as written (last one of a name wins). */
  annotations: Readonly<Record<string, string>>;
  file: string;
  line: number;
}

export interface ScriptsConfigOptions {
  /**
   * Approved directories (agent.conf `script_dirs`). Undefined: no restriction.
   * An empty list refuses every script.
   */
  scriptDirs?: readonly string[] | undefined;
}

export interface ParsedScriptsConfig {
  scripts: Map<string, ScriptEntry>;
  warnings: ConfigWarning[];
}

export const DEFAULT_PROFILE_NAME = 'default';

const SCRIPT_NAME = /^[A-Za-z0-9_-]+$/;
const COMMENT_OR_BLANK = /^\s*(?:#|$)/;
const ENTRY = /^\s*([A-Za-z0-9_-]+)\s*=\s*(.+?)\s*$/;
const ANNOTATION = /^([a-z_]+)=(.*)$/;
const KNOWN_ANNOTATIONS: ReadonlySet<string> = new Set(['profile', 'timeout', 'max_output']);

/** A script name a request may use: letters, digits, `_` and `-` only. */
export function isValidScriptName(name: string): boolean {
  return SCRIPT_NAME.test(name);
}

/**
 * True when `realPath` (already resolved) lies strictly inside one of `dirs`.
 * Plain string logic on whole path components: /opt/s does not contain /opt/scripts.
 */
export function isUnderScriptDirs(realPath: string, dirs: readonly string[]): boolean {
  for (const dir of dirs) {
    const d = dir.replace(/\/+$/, '');
    if (realPath.length > d.length + 1 && realPath.startsWith(`${d}/`)) return true;
  }
  return false;
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
}

/**
 * Resolve an absolute path the way the kernel would: symlinks and `..` collapsed.
 * When the file does not exist, its deepest existing ancestor is resolved and the
 * rest appended, so a missing file behind a symlinked directory is still placed right.
 */
function resolveReal(path: string): string {
  let rest: string[] = [];
  let current = posix.resolve(path);
  for (;;) {
    try {
      return join(realpathSync(current), ...rest);
    } catch (err) {
      const code = errnoOf(err);
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || current === '/') throw err;
      rest = [basename(current), ...rest];
      current = dirname(current);
    }
  }
}

export type ScriptPathCheck = { ok: true; realPath: string } | { ok: false; reason: string };

/**
 * Whether an allowlisted path may run: absolute and, when `dirs` is given, inside one
 * of them after symlinks and `..` are resolved (directories are compared both as
 * written and resolved). Used at load time and again at request time.
 */
export function checkScriptPath(path: string, dirs: readonly string[] | undefined): ScriptPathCheck {
  if (!path.startsWith('/')) return { ok: false, reason: `path must be absolute: ${printable(path)}` };
  let realPath: string;
  try {
    realPath = resolveReal(path);
  } catch (err) {
    return { ok: false, reason: `cannot resolve ${printable(path)}: ${errnoOf(err)}` };
  }
  if (dirs === undefined) return { ok: true, realPath };
  const candidates = [...dirs];
  for (const d of dirs) {
    try {
      candidates.push(realpathSync(d));
    } catch {
      // a missing directory only matches as written
    }
  }
  if (!isUnderScriptDirs(realPath, candidates)) {
    return { ok: false, reason: `path not in approved script_dirs: ${printable(path)}` };
  }
  return { ok: true, realPath };
}

/**
 * Parse scripts.conf. Bad lines and bad entries never stop the load: each is skipped
 * with a warning naming file, line and entry. Later duplicates replace earlier ones.
 */
export function parseScriptsConfig(text: string, file: string, options: ScriptsConfigOptions = {}): ParsedScriptsConfig {
  const warnings: ConfigWarning[] = [];
  const scripts = new Map<string, ScriptEntry>();

  for (const { line, text: content } of splitConfigLines(text)) {
    if (COMMENT_OR_BLANK.test(content)) continue;
    const m = ENTRY.exec(content);
    if (!m) {
      warnings.push({ file, line, message: `skipping malformed line: ${printable(content)}` });
      continue;
    }
    const name = m[1] ?? '';
    const skip = (message: string): void => {
      warnings.push({ file, line, entry: name, message: `skipping '${name}' - ${message}` });
    };

    const paths: string[] = [];
    const annotations = new Map<string, string>();
    for (const token of (m[2] ?? '').split(/\s+/)) {
      const a = ANNOTATION.exec(token);
      if (a) {
        const key = a[1] ?? '';
        if (annotations.has(key)) warnings.push({ file, line, entry: name, message: `'${name}': annotation '${key}' given twice, last one used` });
        annotations.set(key, a[2] ?? '');
      } else {
        paths.push(token);
      }
    }

    const path = paths[0];
    if (path === undefined) {
      skip('no script path');
      continue;
    }
    if (paths.length > 1) {
      skip('more than one path on the line');
      continue;
    }

    const entry: ScriptEntry = {
      name,
      path,
      profile: DEFAULT_PROFILE_NAME,
      annotations: Object.fromEntries(annotations),
      file,
      line,
    };
    let bad: string | undefined;
    for (const [key, value] of annotations) {
      if (key === 'profile') {
        if (PROFILE_NAME.test(value)) entry.profile = value;
        else bad = `invalid profile name '${printable(value)}'`;
      } else if (key === 'timeout') {
        const n = parseIntInRange(value, 1, MAX_TIMER_SECONDS);
        if (n !== undefined) entry.timeoutSec = n;
        else bad = `invalid timeout '${printable(value)}' (seconds, 1..${MAX_TIMER_SECONDS})`;
      } else if (key === 'max_output') {
        const n = parseByteSize(value);
        if (n !== undefined) entry.maxOutputBytes = n;
        else bad = `invalid max_output '${printable(value)}' (bytes, or a number followed by K or M)`;
      } else if (!KNOWN_ANNOTATIONS.has(key)) {
        warnings.push({ file, line, entry: name, message: `'${name}': unknown annotation '${key}' ignored` });
      }
      if (bad !== undefined) break;
    }
    if (bad !== undefined) {
      skip(bad);
      continue;
    }

    const check = checkScriptPath(path, options.scriptDirs);
    if (!check.ok) {
      skip(check.reason);
      continue;
    }

    const previous = scripts.get(name);
    if (previous) warnings.push({ file, line, entry: name, message: `'${name}' defined again, replaces line ${previous.line}` });
    scripts.set(name, entry);
  }
  return { scripts, warnings };
}

/** Read and parse scripts.conf (DEFAULT_SCRIPTS_CONFIG_PATH unless told otherwise). */
export function loadScriptsConfig(path: string, options: ScriptsConfigOptions = {}): ParsedScriptsConfig {
  return parseScriptsConfig(readConfigFile(path, 'allowlist'), path, options);
}
