/**
 * ScanCode toolkit (`scancode --license --json-pp`) → normalised licence findings.
 *
 * The report is one object with a `files` array holding every scanned file and directory.
 * Two layouts of licence data exist:
 * - output format 2.0.0 and later (ScanCode 32+): per file `detected_license_expression(_spdx)`
 *   and `license_detections[]`, each detection with `license_expression`, in format 4.0.0 also
 *   `license_expression_spdx`, and `matches[]` (`start_line`, `end_line`, `from_file`...);
 * - output format 1.0.0 and earlier (ScanCode ≤ 31): per file `licenses[]`, one entry per licence
 *   key per match (`key`, `spdx_license_key`, `start_line`, `end_line`, `matched_rule`), and
 *   `license_expressions[]`, one ScanCode expression per match.
 *
 * Each file gets one `licence` finding per distinct SPDX expression detected in it, located at
 * the first detection of that expression. Directories, copyrights, holders, authors, package
 * data and `license_clues` (low-confidence matches) are not findings. Severity is always `info`:
 * rating licences is the licence policy's job, not the parser's.
 */
import { finding, normalisePath } from '../finding.js';
import type { Finding, FindingLocation } from '../finding.js';
import { int, isObject, parseJson, ScanParseError, str } from './types.js';
import type { ScannerParser } from './types.js';

const ENGINE = 'scancode';

/** One licence detection in one file, before grouping by expression. */
interface Detection {
  /** SPDX expression. */
  spdx: string;
  /** ScanCode's own expression (licence keys), when stated. */
  scancode?: string;
  startLine?: number;
  endLine?: number;
}

/** ScanCode licence key (lower case) → SPDX licence id, gathered from the whole report. */
type KeyMap = Map<string, string>;

function objects(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

/** An expression's tokens: `(`, `)`, operators and licence ids. */
function tokens(expression: string): string[] {
  return expression.match(/[()]|[^\s()]+/g) ?? [];
}

function isOperator(token: string): boolean {
  return /^(and|or|with)$/i.test(token);
}

function isSyntax(token: string): boolean {
  return token === '(' || token === ')' || isOperator(token);
}

function addKey(map: KeyMap, key: string | undefined, spdx: string | undefined): void {
  if (!key || !spdx) return;
  const k = key.toLowerCase();
  if (!map.has(k)) map.set(k, spdx);
}

/**
 * Learn key → SPDX id pairs from an expression given both ways (ScanCode writes both with the
 * same structure, only the licence ids differ). Pairs that do not line up token for token, or
 * that map one key to two ids, teach nothing.
 */
function alignInto(map: KeyMap, keyExpression: string | undefined, spdxExpression: string | undefined): void {
  if (!keyExpression || !spdxExpression) return;
  const a = tokens(keyExpression);
  const b = tokens(spdxExpression);
  if (a.length !== b.length) return;
  const pairs = new Map<string, string>();
  for (let i = 0; i < a.length; i++) {
    const ka = a[i] as string;
    const kb = b[i] as string;
    if (isSyntax(ka) || isSyntax(kb)) {
      if (ka.toLowerCase() !== kb.toLowerCase()) return;
      continue;
    }
    const known = pairs.get(ka.toLowerCase());
    if (known !== undefined && known !== kb) return;
    pairs.set(ka.toLowerCase(), kb);
  }
  for (const [k, v] of pairs) addKey(map, k, v);
}

/** Every key → SPDX id pair the report states or implies. Direct statements come first. */
function keyMapOf(doc: Record<string, unknown>, files: Record<string, unknown>[]): KeyMap {
  const map: KeyMap = new Map();
  for (const ref of objects(doc.license_references)) addKey(map, str(ref, 'key'), str(ref, 'spdx_license_key'));
  for (const file of files) {
    for (const lic of objects(file.licenses)) addKey(map, str(lic, 'key'), str(lic, 'spdx_license_key'));
  }
  const pairsOf = (o: Record<string, unknown>, key: string, spdx: string): void =>
    alignInto(map, str(o, key), str(o, spdx));
  for (const det of objects(doc.license_detections)) {
    pairsOf(det, 'license_expression', 'license_expression_spdx');
    for (const m of objects(det.reference_matches)) pairsOf(m, 'license_expression', 'license_expression_spdx');
  }
  for (const file of files) {
    pairsOf(file, 'detected_license_expression', 'detected_license_expression_spdx');
    for (const det of objects(file.license_detections)) {
      pairsOf(det, 'license_expression', 'license_expression_spdx');
      for (const m of objects(det.matches)) pairsOf(m, 'license_expression', 'license_expression_spdx');
    }
  }
  return map;
}

/**
 * A ScanCode expression in SPDX terms. Keys the report gives no SPDX id for become
 * `LicenseRef-scancode-<key>`, as ScanCode itself names licences SPDX does not list.
 */
function toSpdx(map: KeyMap, expression: string): string | undefined {
  const parts = tokens(expression);
  if (parts.length === 0) return undefined;
  const out = parts.map((t) => {
    if (t === '(' || t === ')') return t;
    if (isOperator(t)) return t.toUpperCase();
    return map.get(t.toLowerCase()) ?? `LicenseRef-scancode-${t}`;
  });
  return out.join(' ').replace(/\( /g, '(').replace(/ \)/g, ')');
}

/** Whether a match was found in the file at `path` (`from_file` may keep the scan root). */
function isInFile(match: Record<string, unknown>, path: string): boolean {
  const from = str(match, 'from_file');
  if (from === undefined) return true;
  const f = normalisePath(from);
  return f === path || f.endsWith(`/${path}`);
}

/** Format 2.0.0+ : `license_detections[]`. */
function newLayoutDetections(file: Record<string, unknown>, path: string, map: KeyMap): Detection[] {
  const out: Detection[] = [];
  for (const det of objects(file.license_detections)) {
    const scancode = str(det, 'license_expression');
    const spdx = str(det, 'license_expression_spdx') ?? (scancode ? toSpdx(map, scancode) : undefined);
    if (!spdx) continue;
    const matches = objects(det.matches);
    const first = matches.find((m) => isInFile(m, path)) ?? matches[0];
    out.push({ spdx, scancode, startLine: int(first, 'start_line'), endLine: int(first, 'end_line') });
  }
  return out;
}

/**
 * Format 1.0.0 and earlier: `licenses[]` has one entry per key per match, so consecutive
 * entries from the same rule at the same lines are one match (e.g. `gpl-2.0 WITH
 * classpath-exception-2.0` gives two entries); the rule's expression names the match.
 */
function oldLayoutDetections(file: Record<string, unknown>, map: KeyMap): Detection[] {
  const out: Detection[] = [];
  let lastGroup: string | undefined;
  for (const lic of objects(file.licenses)) {
    const rule = isObject(lic.matched_rule) ? lic.matched_rule : undefined;
    const startLine = int(lic, 'start_line');
    const endLine = int(lic, 'end_line');
    const ruleExpression = str(rule, 'license_expression');
    const group = ruleExpression ? JSON.stringify([str(rule, 'identifier'), ruleExpression, startLine, endLine]) : undefined;
    if (group !== undefined && group === lastGroup) continue;
    lastGroup = group;
    const scancode = ruleExpression ?? str(lic, 'key');
    const spdx = ruleExpression ? toSpdx(map, ruleExpression) : (str(lic, 'spdx_license_key') ?? (scancode ? toSpdx(map, scancode) : undefined));
    if (!spdx) continue;
    out.push({ spdx, scancode, startLine, endLine });
  }
  if (out.length > 0) return out;
  // `license_expressions` alone (no per-match details): expressions without lines.
  const expressions = Array.isArray(file.license_expressions) ? file.license_expressions : [];
  for (const e of expressions) {
    if (typeof e !== 'string') continue;
    const spdx = toSpdx(map, e);
    if (spdx) out.push({ spdx, scancode: e });
  }
  return out;
}

function detectionsOf(file: Record<string, unknown>, path: string, map: KeyMap): Detection[] {
  const found = Array.isArray(file.license_detections)
    ? newLayoutDetections(file, path, map)
    : oldLayoutDetections(file, map);
  if (found.length > 0) return found;
  // A file-level result without the detections behind it.
  const scancode = str(file, 'detected_license_expression');
  const spdx = str(file, 'detected_license_expression_spdx') ?? (scancode ? toSpdx(map, scancode) : undefined);
  return spdx ? [{ spdx, scancode }] : [];
}

function lineRange(d: Detection): string | undefined {
  if (d.startLine === undefined) return undefined;
  return d.endLine === undefined || d.endLine === d.startLine ? `${d.startLine}` : `${d.startLine}-${d.endLine}`;
}

function locationOf(path: string, d: Detection): FindingLocation {
  const location: FindingLocation = { path };
  if (d.startLine !== undefined) location.startLine = d.startLine;
  if (d.endLine !== undefined) location.endLine = d.endLine;
  return location;
}

/** One finding per distinct SPDX expression, at its first detection. */
function findingsOf(path: string, detections: Detection[]): Finding[] {
  const groups = new Map<string, Detection[]>();
  for (const d of detections) {
    const g = groups.get(d.spdx);
    if (g) g.push(d);
    else groups.set(d.spdx, [d]);
  }
  const out: Finding[] = [];
  for (const [spdx, group] of groups) {
    const first = group[0] as Detection;
    const scancodeExpressions = [...new Set(group.map((d) => d.scancode).filter((e): e is string => e !== undefined))];
    const lines = group.map(lineRange).filter((r): r is string => r !== undefined);
    const details = [
      scancodeExpressions.length > 0 ? `ScanCode expression: ${scancodeExpressions.join('; ')}` : undefined,
      `detections: ${group.length}`,
      lines.length > 0 ? `lines: ${lines.join(', ')}` : undefined,
    ].filter((s): s is string => s !== undefined);
    out.push(
      finding({
        engine: ENGINE,
        type: 'licence',
        ruleId: spdx,
        title: `${spdx} in ${path}`,
        description: details.join('; '),
        severity: 'info',
        location: locationOf(path, first),
        licence: spdx,
      }),
    );
  }
  return out;
}

export const scancodeParser: ScannerParser = {
  engine: ENGINE,
  parse(text: string): Finding[] {
    const doc = parseJson(ENGINE, text);
    if (!isObject(doc)) throw new ScanParseError(ENGINE, 'expected a JSON object with a "files" array');
    if (!Array.isArray(doc.files)) throw new ScanParseError(ENGINE, 'no "files" array at the top level');
    const files = doc.files.map((entry, i) => {
      if (!isObject(entry)) throw new ScanParseError(ENGINE, `files[${i}] is not an object`);
      if (str(entry, 'path') === undefined) throw new ScanParseError(ENGINE, `files[${i}] has no path`);
      return entry;
    });
    const map = keyMapOf(doc, files);
    const out: Finding[] = [];
    for (const file of files) {
      if (file.type !== 'file') continue;
      const path = normalisePath(str(file, 'path') as string);
      out.push(...findingsOf(path, detectionsOf(file, path, map)));
    }
    return out;
  },
};
