import { chownSync, statSync } from 'node:fs';
import type { CommandSpec } from '../../cli/command.js';
import type { Context } from '../../cli/context.js';
import { checkRenewedCert, readStaged, removeStaged, writeCertFile } from '../../renewal/staged-cert.js';

/**
 * Feature 71: install a staged renewed certificate before the agent starts (systemd
 * `ExecStartPre=+ctrl-exec-agent promote-cert`). The staged file is checked again (CA chain,
 * same key, not expired); a good one replaces the live certificate atomically, keeping its
 * owner and group; a bad one is removed. Always exits 0, so the agent starts on whichever
 * certificate is now in place.
 */
export const promoteCertCommand: CommandSpec = {
  name: 'promote-cert',
  summary: 'install a staged renewed certificate (run before serve; always exits 0)',
  configure() {},
  async run(ctx: Context): Promise<number> {
    let config;
    try {
      config = ctx.config();
    } catch (err) {
      ctx.err(`promote-cert: ${(err as Error).message}`);
      return 0;
    }
    const staged = readStaged(config.certStagingPath);
    if (staged === undefined) {
      ctx.out('No staged certificate.');
      return 0;
    }
    const check = checkRenewedCert(staged, { ca: config.ca, key: config.key });
    if (!check.ok) {
      removeStaged(config.certStagingPath);
      ctx.log({ action: 'cert-promote', error: check.error, path: config.certStagingPath, level: 'warning' });
      ctx.err(`Staged certificate refused and removed: ${check.error}`);
      return 0;
    }
    const previous = statSync(config.cert, { throwIfNoEntry: false });
    try {
      writeCertFile(config.cert, staged);
    } catch (err) {
      const error = `could not install certificate: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      ctx.log({ action: 'cert-promote', error, path: config.cert, level: 'warning' });
      ctx.err(`Staged certificate not installed: ${error}`);
      return 0;
    }
    if (previous !== undefined) {
      try {
        chownSync(config.cert, previous.uid, previous.gid);
      } catch {
        // not root: the file keeps our own ownership, which is the agent's
      }
    }
    removeStaged(config.certStagingPath);
    ctx.log({ action: 'cert-promote', expiry: check.info.notAfter, serial: check.info.serial, status: 'installed' });
    ctx.out(`Certificate installed (serial ${check.info.serial}, expires ${check.info.notAfter}).`);
    return 0;
  },
};
