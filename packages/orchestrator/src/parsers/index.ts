/** Every scanner-output parser, by engine name. */
import { gitleaksParser } from './gitleaks.js';
import { grypeParser } from './grype.js';
import { sarifParser } from './sarif.js';
import { scancodeParser } from './scancode.js';
import { semgrepParser } from './semgrep.js';
import { trivyParser } from './trivy.js';
import { trufflehogParser } from './trufflehog.js';
import type { ScannerParser } from './types.js';

export const PARSERS: Readonly<Record<string, ScannerParser>> = Object.freeze({
  semgrep: semgrepParser,
  trivy: trivyParser,
  grype: grypeParser,
  trufflehog: trufflehogParser,
  gitleaks: gitleaksParser,
  scancode: scancodeParser,
  sarif: sarifParser,
});

export { gitleaksParser, grypeParser, sarifParser, scancodeParser, semgrepParser, trivyParser, trufflehogParser };
export { ScanParseError, type ScannerParser } from './types.js';
