/**
 * `gitleaks detect --report-format json` output: a JSON array with one object per leak (`[]`
 * when there is none). In git mode Commit, Author, Email, Date and Message are filled in; in
 * `--no-git` (dir) mode they are empty strings.
 *
 * `Secret`, `Match` and `Line` hold the secret: only `redactSecret(Secret)` reaches a finding,
 * and error messages never quote the input.
 */
import { finding, redactSecret, type Finding, type FindingLocation } from '../finding.js';
import { ScanParseError, int, isObject, str, type ScannerParser } from './types.js';

const ENGINE = 'gitleaks';

/**
 * JSON.parse with a ScanParseError. Unlike parseJson, the message keeps only the position:
 * V8's own message can quote a piece of the report, secret included.
 */
function parseReport(text: string): unknown {
  if (text.trim() === '') throw new ScanParseError(ENGINE, 'empty output');
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new ScanParseError(ENGINE, `not valid JSON${at === undefined ? '' : ` (at position ${at})`}`);
  }
}

function location(entry: Record<string, unknown>): FindingLocation | undefined {
  const path = str(entry, 'File');
  if (!path) return undefined;
  const loc: FindingLocation = { path };
  const startLine = int(entry, 'StartLine');
  const endLine = int(entry, 'EndLine');
  const startColumn = int(entry, 'StartColumn');
  const endColumn = int(entry, 'EndColumn');
  if (startLine !== undefined) loc.startLine = startLine;
  if (endLine !== undefined) loc.endLine = endLine;
  if (startColumn !== undefined) loc.startColumn = startColumn;
  if (endColumn !== undefined) loc.endColumn = endColumn;
  return loc;
}

/** Git mode: which commit brought the secret in, by whom and when. Dir mode: nothing. */
function description(entry: Record<string, unknown>): string | undefined {
  const commit = str(entry, 'Commit');
  if (!commit) return undefined;
  const author = str(entry, 'Author');
  const date = str(entry, 'Date');
  return `Found in commit ${commit}${author ? ` by ${author}` : ''}${date ? ` on ${date}` : ''}.`;
}

function toFinding(entry: unknown, index: number): Finding {
  if (!isObject(entry)) throw new ScanParseError(ENGINE, `finding at index ${index} is not a JSON object`);
  const ruleId = str(entry, 'RuleID');
  if (!ruleId) throw new ScanParseError(ENGINE, `finding at index ${index} has no RuleID`);
  const link = str(entry, 'Link');
  return finding({
    engine: ENGINE,
    type: 'secrets',
    ruleId,
    title: (str(entry, 'Description') ?? `${ruleId} secret`).replace(/\s+/g, ' ').trim(),
    description: description(entry),
    severity: 'high',
    location: location(entry),
    secret: { redacted: redactSecret(str(entry, 'Secret') ?? '') },
    references: link ? [link] : undefined,
  });
}

export const gitleaksParser: ScannerParser = {
  engine: ENGINE,
  parse(text: string): Finding[] {
    const report = parseReport(text);
    if (!Array.isArray(report)) {
      throw new ScanParseError(ENGINE, `expected a JSON array of findings, got ${report === null ? 'null' : typeof report}`);
    }
    return report.map((entry, i) => toFinding(entry, i));
  },
};
