import { existsSync } from 'node:fs';
import type { CommandSpec } from '../../cli/command.js';
import { ask } from '../../cli/prompt.js';
import { registryOf } from '../../cli/state.js';
import { chownToServiceUser } from '../../service-user.js';
import { createDispatcherCert, loadCa, DEFAULT_ROTATION_CERT_DAYS } from '@ctrl-exec/core';

export const setupCtrlExec: CommandSpec = {
  name: 'setup-ctrl-exec',
  summary: "issue the dispatcher's own certificate and key (paths from cert/key in the config)",
  configure(cmd) {
    cmd.option('--yes', 'replace an existing certificate without asking, even when agents are registered');
  },
  async run(ctx, _args, opts) {
    const config = ctx.config();
    const ca = loadCa(config.caDir);
    if (existsSync(config.cert)) {
      const agents = registryOf(config).names().length;
      if (agents > 0 && opts.yes !== true) {
        ctx.out(`WARNING: a dispatcher certificate already exists at '${config.cert}' and ${agents} agent(s) are registered.`);
        ctx.out('Replacing it changes the dispatcher serial: every agent will answer "serial mismatch" until re-paired');
        ctx.out("(use 'ctrl-exec rotate-cert' to rotate without re-pairing).");
        const answer = await ask(ctx.io.stdin, ctx.io.stdout, 'Proceed? [y/N]: ');
        if (answer.toLowerCase() !== 'y') {
          ctx.out('Aborted.');
          return 0;
        }
      } else if (agents === 0) {
        ctx.out('Existing dispatcher cert found. No registered agents - replacing.');
      }
    }
    const issued = await createDispatcherCert({ ca, certPath: config.cert, keyPath: config.key, keyBits: config.keyBits, days: config.certDays ?? DEFAULT_ROTATION_CERT_DAYS });
    chownToServiceUser(config, config.key);
    if (ctx.json) {
      ctx.printJson({ ok: 1, cert: config.cert, key: config.key, serial: issued.serial, expiry: issued.notAfter });
      return 0;
    }
    ctx.out('dispatcher cert created:');
    ctx.out(`  Cert:    ${config.cert}`);
    ctx.out(`  Key:     ${config.key}`);
    ctx.out(`  Serial:  ${issued.serial}`);
    ctx.out(`  Expires: ${issued.notAfter}`);
    return 0;
  },
};
