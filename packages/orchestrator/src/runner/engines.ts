/**
 * The engines the runner knows: which scan types each covers, how to run it on a workspace
 * (a local binary, or a container with the workspace mounted read-only and no network unless
 * the engine needs it), and which parser reads its output. Commands never go through a shell.
 */
import type { ScanType } from '../finding.js';
import { gitleaksParser } from '../parsers/gitleaks.js';
import { grypeParser } from '../parsers/grype.js';
import { scancodeParser } from '../parsers/scancode.js';
import { semgrepParser } from '../parsers/semgrep.js';
import { trivyParser } from '../parsers/trivy.js';
import { trufflehogParser } from '../parsers/trufflehog.js';
import type { ScannerParser } from '../parsers/types.js';
export { ENGINE_NAMES, DEFAULT_ENGINE_FOR, enginesFor } from './engine-names.js';

export interface EngineSpec {
  name: string;
  types: readonly ScanType[];
  /** The binary looked up on PATH when scan.conf names no command. */
  binary: string;
  /** Default container image (scan.conf `engine.<name>.image` overrides). */
  image: string;
  /** Arguments that scan `dir` and write the report to stdout. */
  args(dir: string): string[];
  /** Whether the engine needs the network while scanning (vulnerability databases, rule registries). */
  network: boolean;
  /** Exit codes that still mean "report written" (e.g. gitleaks exits 1 when it finds leaks). */
  okExits: readonly number[];
  parser: ScannerParser;
}

export const ENGINES: Readonly<Record<string, EngineSpec>> = Object.freeze({
  semgrep: {
    name: 'semgrep',
    types: ['sast'],
    binary: 'semgrep',
    image: 'semgrep/semgrep:latest',
    args: (dir) => ['scan', '--json', '--quiet', '--metrics=off', '--config', 'auto', dir],
    network: true,
    okExits: [0, 1],
    parser: semgrepParser,
  },
  trivy: {
    name: 'trivy',
    types: ['sca', 'misconfig', 'secrets', 'licence'],
    binary: 'trivy',
    image: 'aquasec/trivy:latest',
    args: (dir) => ['fs', '--format', 'json', '--quiet', '--scanners', 'vuln,misconfig,secret,license', dir],
    network: true,
    okExits: [0],
    parser: trivyParser,
  },
  grype: {
    name: 'grype',
    types: ['sca'],
    binary: 'grype',
    image: 'anchore/grype:latest',
    args: (dir) => ['-o', 'json', '--quiet', `dir:${dir}`],
    network: true,
    okExits: [0],
    parser: grypeParser,
  },
  trufflehog: {
    name: 'trufflehog',
    types: ['secrets'],
    binary: 'trufflehog',
    image: 'trufflesecurity/trufflehog:latest',
    args: (dir) => ['filesystem', '--json', '--no-update', '--no-verification', dir],
    network: false,
    okExits: [0, 183],
    parser: trufflehogParser,
  },
  gitleaks: {
    name: 'gitleaks',
    types: ['secrets'],
    binary: 'gitleaks',
    image: 'zricethezav/gitleaks:latest',
    args: (dir) => ['detect', '--no-git', '--no-banner', '--source', dir, '--report-format', 'json', '--report-path', '/dev/stdout', '--exit-code', '0'],
    network: false,
    okExits: [0, 1],
    parser: gitleaksParser,
  },
  scancode: {
    name: 'scancode',
    types: ['licence'],
    binary: 'scancode',
    image: 'ghcr.io/aboutcode-org/scancode-toolkit:latest',
    args: (dir) => ['--license', '--quiet', '--json-pp', '-', dir],
    network: false,
    okExits: [0],
    parser: scancodeParser,
  },
});

/**
 * Where the image of an engine comes from, first match wins: scan.conf `engine.<name>.image`,
 * then the `ENGINE_IMAGE_MAP` environment variable (JSON object engine → image), then
 * `ENGINE_<NAME>_IMAGE`, then the built-in default.
 */
export function imageFor(engine: EngineSpec, configured: string | undefined, env: NodeJS.ProcessEnv): string {
  if (configured) return configured;
  const map = env.ENGINE_IMAGE_MAP;
  if (map) {
    try {
      const parsed = JSON.parse(map) as Record<string, unknown>;
      const image = parsed[engine.name];
      if (typeof image === 'string' && image !== '') return image;
    } catch {
      // a malformed map is ignored (the runner reports it once, see main)
    }
  }
  const specific = env[`ENGINE_${engine.name.toUpperCase().replace(/-/g, '_')}_IMAGE`];
  if (specific) return specific;
  return engine.image;
}
