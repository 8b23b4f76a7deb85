/**
 * The source a scan looks at, made ready on the agent: a shallow git fetch or a downloaded
 * archive in a fresh private directory under `work_dir` (removed afterwards), or an existing
 * directory inside one of `scan_roots` (used in place, never written to).
 */
import { createWriteStream, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { ScanConfig } from './scan-config.js';
import type { SourceSpec } from './job-args.js';
import { execute } from './execute.js';

export interface Workspace {
  /** The directory to scan. */
  dir: string;
  /** What was scanned, for the report (`git <url>@<commit>`, `archive <url>`, `path <dir>`). */
  description: string;
  /** Remove what we created (nothing for a path source). */
  dispose(): void;
}

export class SourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceError';
  }
}

/** git without prompts, hooks, local or `ext::` transports, or the user's and system's config. */
function gitEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    PATH: base.PATH,
    HOME: '/nonexistent',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ALLOW_PROTOCOL: 'https:ssh',
    GIT_SSH_COMMAND: 'ssh -o BatchMode=yes -o StrictHostKeyChecking=yes',
    ...(base.GIT_SSL_CAINFO ? { GIT_SSL_CAINFO: base.GIT_SSL_CAINFO } : {}),
  };
}

async function git(step: string, args: string[], config: ScanConfig, env: NodeJS.ProcessEnv, deadline: number): Promise<string> {
  const left = deadline - Date.now();
  if (left <= 0) throw new SourceError(`download timed out after ${config.downloadTimeoutMs / 1000}s`);
  const r = await execute('git', ['-c', 'core.hooksPath=/dev/null', '-c', 'protocol.file.allow=never', ...args], { env: gitEnv(env), timeoutMs: left, maxStdout: 1024 * 1024 });
  if (r.spawnError) throw new SourceError(`cannot run git (${r.spawnError})`);
  if (r.timedOut) throw new SourceError(`download timed out after ${config.downloadTimeoutMs / 1000}s`);
  if (r.code !== 0) throw new SourceError(`git ${step} failed: ${r.stderrTail.trim().split('\n').slice(-2).join(' ').slice(0, 400) || `exit ${r.code}`}`);
  return r.stdout.trim();
}

function freshDir(config: ScanConfig): string {
  try {
    return mkdtempSync(join(config.workDir, 'ctrl-exec-scan-'));
  } catch (err) {
    throw new SourceError(`cannot create a workspace in ${config.workDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

async function fromGit(source: { url: string; ref?: string }, config: ScanConfig, env: NodeJS.ProcessEnv): Promise<Workspace> {
  const root = freshDir(config);
  const dir = join(root, 'src');
  const dispose = () => rmSync(root, { recursive: true, force: true });
  const deadline = Date.now() + config.downloadTimeoutMs;
  try {
    await git('init', ['init', '-q', dir], config, env, deadline);
    await git('fetch', ['-C', dir, 'fetch', '-q', '--depth', '1', '--no-tags', '--', source.url, source.ref ?? 'HEAD'], config, env, deadline);
    await git('checkout', ['-C', dir, '-c', 'advice.detachedHead=false', 'checkout', '-q', 'FETCH_HEAD'], config, env, deadline);
    const commit = await git('rev-parse', ['-C', dir, 'rev-parse', 'HEAD'], config, env, deadline);
    return { dir, description: `git ${source.url}@${commit}`, dispose };
  } catch (err) {
    dispose();
    throw err;
  }
}

async function fromArchive(url: string, config: ScanConfig, env: NodeJS.ProcessEnv): Promise<Workspace> {
  const root = freshDir(config);
  const dispose = () => rmSync(root, { recursive: true, force: true });
  const file = join(root, 'source.archive');
  const dir = join(root, 'src');
  const deadline = Date.now() + config.downloadTimeoutMs;
  try {
    let res: Response;
    try {
      res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(config.downloadTimeoutMs) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new SourceError(`download failed: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    if (!res.ok || !res.body) throw new SourceError(`download failed: HTTP ${res.status}`);
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > config.maxArchiveBytes) throw new SourceError(`archive is ${declared} bytes, over max_archive_bytes (${config.maxArchiveBytes})`);
    let seen = 0;
    const limit = config.maxArchiveBytes;
    const counted = Readable.fromWeb(res.body as WebReadableStream).map((chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit) throw new SourceError(`archive is over max_archive_bytes (${limit})`);
      return chunk;
    });
    await pipeline(counted, createWriteStream(file, { mode: 0o600 }));
    mkdirSync(dir, { mode: 0o700 });
    const left = Math.max(1, deadline - Date.now());
    // GNU tar: no absolute names, no `..` members, no owners or modes from the archive
    const r = await execute('tar', ['-x', '-f', file, '-C', dir, '--no-same-owner', '--no-same-permissions', '--no-overwrite-dir'], { env, timeoutMs: left, maxStdout: 1024 * 1024 });
    if (r.spawnError) throw new SourceError(`cannot run tar (${r.spawnError})`);
    if (r.timedOut) throw new SourceError(`extraction timed out`);
    if (r.code !== 0) throw new SourceError(`not a readable archive: ${r.stderrTail.trim().split('\n')[0]?.slice(0, 300) ?? `tar exit ${r.code}`}`);
    rmSync(file, { force: true });
    return { dir, description: `archive ${url}`, dispose };
  } catch (err) {
    dispose();
    if (err instanceof SourceError) throw err;
    throw new SourceError(`download failed: ${(err as Error).message}`);
  }
}

function fromPath(path: string, config: ScanConfig): Workspace {
  if (config.scanRoots.length === 0) throw new SourceError(`path sources are disabled: set scan_roots in ${config.file}`);
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    throw new SourceError(`path '${path}' is not readable (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const inside = config.scanRoots.some((root) => {
    let r: string;
    try {
      r = realpathSync(root);
    } catch {
      return false;
    }
    return real === r || real.startsWith(r.endsWith(sep) ? r : r + sep);
  });
  if (!inside) throw new SourceError(`path '${path}' is outside scan_roots (${config.scanRoots.join(', ')})`);
  if (!statSync(real).isDirectory()) throw new SourceError(`path '${path}' is not a directory`);
  return { dir: real, description: `path ${real}`, dispose: () => undefined };
}

export async function prepareSource(source: SourceSpec, config: ScanConfig, env: NodeJS.ProcessEnv): Promise<Workspace> {
  switch (source.kind) {
    case 'git':
      return fromGit(source, config, env);
    case 'archive':
      return fromArchive(source.url, config, env);
    case 'path':
      return fromPath(source.path, config);
  }
}
