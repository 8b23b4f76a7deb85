/**
 * TruffleHog v3 `--json` output: JSON lines, one object per detected secret. TruffleHog writes
 * nothing when it finds nothing, so empty text is a clean scan.
 *
 * Secret values (`Raw`, `RawV2`, and `Redacted`, which for some detectors is the whole value)
 * never reach a finding: only `redactSecret(Raw)` does. Error messages name the line number
 * but never quote the line, since it holds the secret.
 */
import { finding, redactSecret, type Finding, type FindingLocation } from '../finding.js';
import { ScanParseError, int, isObject, str, type ScannerParser } from './types.js';

const ENGINE = 'trufflehog';

/** A line's JSON, or a ScanParseError that names the line without quoting it. */
function parseLine(line: string, lineNo: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    // JSON.parse's message can quote part of the line (and so of the secret): leave it out.
    throw new ScanParseError(ENGINE, `line ${lineNo} is not valid JSON`);
  }
  if (!isObject(value)) throw new ScanParseError(ENGINE, `line ${lineNo} is not a JSON object`);
  return value;
}

/**
 * The source's own metadata: `SourceMetadata.Data` holds one key named after the source
 * (`Git`, `Github`, `Filesystem`, `Gitlab`, `S3`, `Docker`...) whose value describes where the
 * secret was found.
 */
function sourceData(obj: Record<string, unknown>): Record<string, unknown> | undefined {
  const meta = obj['SourceMetadata'];
  const data = isObject(meta) ? meta['Data'] : undefined;
  if (!isObject(data)) return undefined;
  for (const value of Object.values(data)) if (isObject(value)) return value;
  return undefined;
}

function toFinding(obj: Record<string, unknown>, lineNo: number): Finding {
  const detector = str(obj, 'DetectorName');
  if (!detector) throw new ScanParseError(ENGINE, `line ${lineNo} has no DetectorName (is it a TruffleHog finding?)`);
  const verified = obj['Verified'] === true;
  const source = sourceData(obj);

  const file = str(source, 'file');
  const line = int(source, 'line');
  let location: FindingLocation | undefined;
  if (file) location = line === undefined ? { path: file } : { path: file, startLine: line };

  const text: string[] = [];
  const about = str(obj, 'DetectorDescription');
  if (about) text.push(about);
  const commit = str(source, 'commit');
  if (commit) text.push(`Found in commit ${commit}.`);
  const link = str(source, 'link');

  return finding({
    engine: ENGINE,
    type: 'secrets',
    ruleId: detector,
    title: `${detector} secret${verified ? ' (verified)' : ''}`,
    description: text.length > 0 ? text.join('\n') : undefined,
    severity: verified ? 'high' : 'medium',
    location,
    // Raw is redacted as given (base64 for some detectors and versions, plain for others).
    secret: { verified, redacted: redactSecret(str(obj, 'Raw') ?? '') },
    references: link ? [link] : undefined,
  });
}

export const trufflehogParser: ScannerParser = {
  engine: ENGINE,
  parse(text: string): Finding[] {
    const findings: Finding[] = [];
    const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      findings.push(toFinding(parseLine(line, i + 1), i + 1));
    });
    return findings;
  },
};
