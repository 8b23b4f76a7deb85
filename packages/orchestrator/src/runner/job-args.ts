/**
 * What a scan request may ask of the runner: its arguments come from the dispatcher (through
 * the agent's /run, verbatim as argv), so each is checked before anything touches git, the
 * network or the file system:
 *
 *   --engine <name> (repeatable)   --source git --url <repo> [--ref <branch|tag|sha>]
 *                                  --source archive --url https://.../x.tar.gz
 *                                  --source path --path /srv/app
 */
export type SourceSpec =
  | { kind: 'git'; url: string; ref?: string }
  | { kind: 'archive'; url: string }
  | { kind: 'path'; path: string };

export interface ScanJobArgs {
  engines: string[];
  source: SourceSpec;
}

export class JobArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobArgsError';
  }
}

/** https, ssh and scp-like git URLs; never a local path, `file://`, `ext::` or anything starting with `-`. */
const GIT_URL = /^(?:https:\/\/|ssh:\/\/)[^\s]+$|^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$/;
const GIT_REF = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/;
const ENGINE = /^[a-z0-9][a-z0-9-]{0,39}$/;

export function parseJobArgs(argv: readonly string[], knownEngines: readonly string[]): ScanJobArgs {
  const engines: string[] = [];
  let source: string | undefined;
  let url: string | undefined;
  let ref: string | undefined;
  let path: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    const take = (): string => {
      if (value === undefined) throw new JobArgsError(`${flag} needs a value`);
      i++;
      return value;
    };
    switch (flag) {
      case '--engine': {
        const e = take();
        if (!ENGINE.test(e) || !knownEngines.includes(e)) throw new JobArgsError(`unknown engine '${e.slice(0, 40)}' (known: ${knownEngines.join(', ')})`);
        if (!engines.includes(e)) engines.push(e);
        break;
      }
      case '--source':
        source = take();
        break;
      case '--url':
        url = take();
        break;
      case '--ref':
        ref = take();
        break;
      case '--path':
        path = take();
        break;
      default:
        throw new JobArgsError(`unexpected argument '${flag.slice(0, 60)}'`);
    }
  }
  if (engines.length === 0) throw new JobArgsError('at least one --engine is required');
  switch (source) {
    case 'git':
      if (url === undefined || !GIT_URL.test(url) || url.length > 2000) throw new JobArgsError('--source git needs --url https://..., ssh://... or user@host:path');
      if (ref !== undefined && (!GIT_REF.test(ref) || ref.includes('..'))) throw new JobArgsError(`invalid --ref '${ref.slice(0, 60)}'`);
      if (path !== undefined) throw new JobArgsError('--path is for --source path');
      return { engines, source: { kind: 'git', url, ...(ref !== undefined ? { ref } : {}) } };
    case 'archive':
      if (url === undefined || !/^https:\/\/[^\s]+$/.test(url) || url.length > 2000) throw new JobArgsError('--source archive needs an https:// --url');
      if (ref !== undefined || path !== undefined) throw new JobArgsError('--ref and --path do not apply to --source archive');
      return { engines, source: { kind: 'archive', url } };
    case 'path':
      if (path === undefined || !path.startsWith('/')) throw new JobArgsError('--source path needs an absolute --path');
      if (url !== undefined || ref !== undefined) throw new JobArgsError('--url and --ref do not apply to --source path');
      return { engines, source: { kind: 'path', path } };
    case undefined:
      throw new JobArgsError('--source git|archive|path is required');
    default:
      throw new JobArgsError(`unknown source '${source.slice(0, 40)}' (git, archive or path)`);
  }
}
