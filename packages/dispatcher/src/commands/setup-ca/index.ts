import type { CommandSpec } from '../../cli/command.js';
import { createCa } from '@ctrl-exec/core';

export const setupCa: CommandSpec = {
  name: 'setup-ca',
  summary: 'create the private CA (ca.key, ca.crt) in ca_dir',
  configure() {},
  async run(ctx) {
    const config = ctx.config();
    const made = await createCa({ dir: config.caDir, keyBits: config.keyBits });
    if (ctx.json) {
      ctx.printJson({ ok: 1, key: made.keyPath, cert: made.certPath, serial: made.serial });
      return 0;
    }
    ctx.out('CA created:');
    ctx.out(`  Key:  ${made.keyPath}`);
    ctx.out(`  Cert: ${made.certPath}`);
    ctx.out('Keep ca.key secure - it never leaves this host.');
    return 0;
  },
};
