/**
 * The scan runner's own configuration (`scan.conf`, named by the operator's wrapper with
 * `--config`, never by a request): where workspaces go, which local paths may be scanned,
 * how engines run, and the limits.
 *
 *   work_dir = /var/lib/ctrl-exec-agent/scans     # throwaway workspaces (default: os tmpdir)
 *   scan_roots = /srv /opt/src                    # `--source path` must be inside one of these
 *   engine_mode = local                           # local | container
 *   container_runtime = docker                    # docker | podman
 *   download_timeout = 300                        # seconds, git clone / archive download
 *   scan_timeout = 1800                           # seconds per engine
 *   max_archive_bytes = 512M
 *   engine.semgrep.command = /usr/local/bin/semgrep
 *   engine.trivy.image = aquasec/trivy:0.58.1
 */
import { tmpdir } from 'node:os';
import { isAbsolute } from 'node:path';
import { readConfigFile, splitConfigLines } from '@ctrl-exec/core';

export interface ScanConfig {
  file: string;
  workDir: string;
  scanRoots: string[];
  engineMode: 'local' | 'container';
  containerRuntime: 'docker' | 'podman';
  downloadTimeoutMs: number;
  scanTimeoutMs: number;
  maxArchiveBytes: number;
  /** Per-engine overrides: command (local binary) and image (container mode). */
  engines: Record<string, { command?: string; image?: string }>;
}

export class ScanConfigError extends Error {
  constructor(file: string, line: number | undefined, message: string) {
    super(`${file}${line ? `:${line}` : ''}: ${message}`);
    this.name = 'ScanConfigError';
  }
}

function bytes(value: string): number | undefined {
  const m = /^(\d+)([KMG]?)$/i.exec(value);
  if (!m) return undefined;
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Number(m[1]) * mult;
}

export function defaultScanConfig(file = '(defaults)'): ScanConfig {
  return {
    file,
    workDir: tmpdir(),
    scanRoots: [],
    engineMode: 'local',
    containerRuntime: 'docker',
    downloadTimeoutMs: 300_000,
    scanTimeoutMs: 1_800_000,
    maxArchiveBytes: 512 * 1024 ** 2,
    engines: {},
  };
}

export function parseScanConfig(text: string, file: string): ScanConfig {
  const config = defaultScanConfig(file);
  for (const { line, text: raw } of splitConfigLines(text)) {
    const t = raw.trim();
    if (t === '' || t.startsWith('#')) continue;
    const m = /^([A-Za-z0-9_.-]+)\s*=\s*(.*)$/.exec(t);
    if (!m) throw new ScanConfigError(file, line, `expected key = value, got '${t.slice(0, 80)}'`);
    const key = m[1]!;
    const value = m[2]!.replace(/\s+#.*$/, '').trim();
    const bad = (why: string) => new ScanConfigError(file, line, `${key}: ${why}`);
    const seconds = () => {
      if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 86_400) throw bad('seconds between 1 and 86400');
      return Number(value) * 1000;
    };
    switch (key) {
      case 'work_dir':
        if (!isAbsolute(value)) throw bad('must be an absolute path');
        config.workDir = value;
        break;
      case 'scan_roots':
        config.scanRoots = value.split(/[\s,]+/).filter(Boolean);
        for (const r of config.scanRoots) if (!isAbsolute(r)) throw bad(`'${r}' is not an absolute path`);
        break;
      case 'engine_mode':
        if (value !== 'local' && value !== 'container') throw bad("local or container");
        config.engineMode = value;
        break;
      case 'container_runtime':
        if (value !== 'docker' && value !== 'podman') throw bad('docker or podman');
        config.containerRuntime = value;
        break;
      case 'download_timeout':
        config.downloadTimeoutMs = seconds();
        break;
      case 'scan_timeout':
        config.scanTimeoutMs = seconds();
        break;
      case 'max_archive_bytes': {
        const n = bytes(value);
        if (n === undefined || n < 1) throw bad('a size such as 512M');
        config.maxArchiveBytes = n;
        break;
      }
      default: {
        const e = /^engine\.([a-z0-9-]+)\.(command|image)$/.exec(key);
        if (!e) throw new ScanConfigError(file, line, `unknown key '${key}'`);
        if (e[2] === 'command' && !isAbsolute(value)) throw bad('must be an absolute path');
        if (value === '') throw bad('empty');
        config.engines[e[1]!] = { ...config.engines[e[1]!], [e[2]!]: value };
      }
    }
  }
  return config;
}

export function loadScanConfig(path: string): ScanConfig {
  return parseScanConfig(readConfigFile(path, 'scan config'), path);
}
