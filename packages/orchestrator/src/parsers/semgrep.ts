/**
 * `semgrep --json` output → findings.
 *
 * The layout has been stable since 0.x: a top-level object with `results` (one per match),
 * `errors` (rule or target problems, never findings), and since 1.x `paths`, `version`,
 * `skipped_rules`, `interfile_languages_used`. Each result has `check_id`, `path`,
 * `start`/`end` ({line, col, offset}) and `extra` ({message, severity, metadata, is_ignored...}).
 */
import { finding, normaliseCwe, normaliseSeverity, type Finding, type FindingLocation, type Severity } from '../finding.js';
import { isObject, parseJson, ScanParseError, int, str, type ScannerParser } from './types.js';

const ENGINE = 'semgrep';

/** Longest title we keep; longer first lines are cut and end with `…`. */
const MAX_TITLE_LENGTH = 200;

/**
 * Semgrep's severity words. The legacy trio ERROR/WARNING/INFO rates rules, not findings:
 * INFO rules are still reported problems, so INFO is `low` here (not `info`). The newer
 * CRITICAL/HIGH/MEDIUM/LOW words mean what they say. Anything else (EXPERIMENT, INVENTORY,
 * or a word we do not know) goes through normaliseSeverity, which makes it `info`.
 */
export function semgrepSeverity(word: unknown): Severity {
  const w = typeof word === 'string' ? word.trim().toUpperCase() : '';
  switch (w) {
    case 'CRITICAL':
      return 'critical';
    case 'ERROR':
    case 'HIGH':
      return 'high';
    case 'WARNING':
    case 'MEDIUM':
      return 'medium';
    case 'INFO':
    case 'LOW':
      return 'low';
    default:
      return normaliseSeverity(word);
  }
}

/** The first non-blank line of `message`, trimmed and cut to MAX_TITLE_LENGTH. */
function titleOf(message: string): string {
  const first = message.trim().split(/\r?\n|\r/, 1)[0]?.trim() ?? '';
  return first.length > MAX_TITLE_LENGTH ? `${first.slice(0, MAX_TITLE_LENGTH - 1)}…` : first;
}

/** A string or a list of strings, as a list of the non-empty strings. */
function strings(v: unknown): string[] {
  const list = Array.isArray(v) ? v : [v];
  return list.filter((s): s is string => typeof s === 'string' && s.trim() !== '').map((s) => s.trim());
}

function unique<T>(list: T[]): T[] {
  return [...new Set(list)];
}

function cwesOf(v: unknown): string[] {
  const list = Array.isArray(v) ? v : [v];
  return unique(list.map(normaliseCwe).filter((c): c is string => c !== undefined));
}

/** A location with only the positions that are known (no keys set to undefined). */
function locationAt(path: string, positions: Omit<FindingLocation, 'path'>): FindingLocation {
  const location: FindingLocation = { path };
  for (const [key, value] of Object.entries(positions) as [keyof typeof positions, number | undefined][]) {
    if (value !== undefined) location[key] = value;
  }
  return location;
}

function parseResult(r: unknown, i: number): Finding | undefined {
  if (!isObject(r)) throw new ScanParseError(ENGINE, `results[${i}] is not an object`);
  const ruleId = str(r, 'check_id');
  if (ruleId === undefined) throw new ScanParseError(ENGINE, `results[${i}] has no check_id`);
  const extra = isObject(r.extra) ? r.extra : {};
  // Matches silenced with `nosemgrep` are only reported under --disable-nosem; they are not findings.
  if (extra.is_ignored === true) return undefined;
  const metadata = isObject(extra.metadata) ? extra.metadata : {};

  const message = (str(extra, 'message') ?? '').trim();
  const title = titleOf(message) || ruleId;
  const start = isObject(r.start) ? r.start : undefined;
  const end = isObject(r.end) ? r.end : undefined;
  const path = str(r, 'path');

  return finding({
    engine: ENGINE,
    type: 'sast',
    ruleId,
    title,
    description: message !== '' && message !== title ? message : undefined,
    severity: semgrepSeverity(extra.severity),
    location:
      path === undefined
        ? undefined
        : locationAt(path, {
            startLine: int(start, 'line'),
            endLine: int(end, 'line'),
            startColumn: int(start, 'col'),
            endColumn: int(end, 'col'),
          }),
    cwe: cwesOf(metadata.cwe),
    references: unique(strings(metadata.references)),
  });
}

export const semgrepParser: ScannerParser = {
  engine: ENGINE,
  parse(text: string): Finding[] {
    const doc = parseJson(ENGINE, text);
    if (!isObject(doc) || !Array.isArray(doc.results)) {
      throw new ScanParseError(ENGINE, 'expected a `semgrep --json` report (an object with a "results" array)');
    }
    const out: Finding[] = [];
    doc.results.forEach((r, i) => {
      const f = parseResult(r, i);
      if (f) out.push(f);
    });
    return out;
  },
};
