/**
 * The engines and their default per scan type, without their parsers: what a dispatcher
 * needs to check a request, so it need not load every parser.
 */
import type { ScanType } from '../finding.js';

export const ENGINE_NAMES: readonly string[] = Object.freeze(['semgrep', 'trivy', 'grype', 'trufflehog', 'gitleaks', 'scancode']);

/** The default engine for each scan type (DESIGN: semgrep, trivy, trufflehog, scancode). */
export const DEFAULT_ENGINE_FOR: Readonly<Record<ScanType, string>> = Object.freeze({
  sast: 'semgrep',
  sca: 'trivy',
  secrets: 'trufflehog',
  licence: 'scancode',
  misconfig: 'trivy',
});

/** Engines for the requested types and engines, deduplicated, in a stable order. */
export function enginesFor(types: readonly ScanType[], engines: readonly string[] = []): string[] {
  const out = new Set<string>(engines);
  for (const t of types) out.add(DEFAULT_ENGINE_FOR[t]);
  return [...out];
}

