/** Giving the dispatcher key to `service_user` (the unprivileged account that runs the CLI and API). */
import { chownSync, readFileSync } from 'node:fs';
import type { DispatcherConfig } from '@ctrl-exec/core';

/** uid/gid of a local user from /etc/passwd, when it exists. */
export function lookupUser(name: string): { uid: number; gid: number } | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === name && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch {
    /* no passwd file: nothing to chown to */
  }
  return undefined;
}

/** When running as root with `service_user` set and known, hand `path` to that user. */
export function chownToServiceUser(config: Pick<DispatcherConfig, 'serviceUser'>, path: string): void {
  if (process.getuid?.() !== 0 || !config.serviceUser) return;
  const user = lookupUser(config.serviceUser);
  if (user) chownSync(path, user.uid, user.gid);
}
