import type { Command } from 'commander';
import { loadScriptsConfig, validateProfilesReferenced, type AgentConfig, type ScriptEntry } from '@ctrl-exec/core';
import type { CommandSpec } from '../../cli/command.js';
import type { Context } from '../../cli/context.js';
import { pairingState } from '../../pairing/status.js';
import { isExecutable } from '../../server/capabilities.js';
import { allowlistPathFor, formatWarning } from '../serve/startup.js';

/** Feature 69: configuration, allowlist, certificate and scripts, without any network. */
export const selfCheckCommand: CommandSpec = {
  name: 'self-check',
  summary: 'check the configuration, allowlist, certificate and scripts (no network)',
  configure(cmd: Command) {
    cmd.option('--allowlist <path>', 'scripts.conf to check');
  },
  async run(ctx: Context, _args: string[], opts: Record<string, unknown>): Promise<number> {
    const allowlistOption = typeof opts.allowlist === 'string' ? opts.allowlist : undefined;
    ctx.out('Checking config...');
    let config: AgentConfig;
    try {
      config = ctx.config();
    } catch (err) {
      ctx.out(`Config error: ${(err as Error).message}`);
      return 1;
    }
    ctx.out(`Config OK (port ${config.port})`);

    const allowlistPath = allowlistPathFor(config, allowlistOption);
    let scripts: Map<string, ScriptEntry>;
    try {
      const parsed = loadScriptsConfig(allowlistPath, { scriptDirs: config.scriptDirs });
      for (const w of parsed.warnings) ctx.err(formatWarning(w));
      scripts = parsed.scripts;
    } catch (err) {
      ctx.out(`Allowlist error: ${(err as Error).message}`);
      return 1;
    }
    ctx.out(`Allowlist OK (${scripts.size} script${scripts.size === 1 ? '' : 's'})`);

    const cert = pairingState(config);
    if (cert.paired) ctx.out(`Certificate OK (expires ${cert.notAfter})`);
    else ctx.out(`Certificate: not paired - ${cert.reason}`);

    for (const s of [...scripts.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      ctx.out(`Script '${s.name}': ${s.path}  (profile: ${s.profile}) [${isExecutable(s.path) ? 'ok' : 'NOT EXECUTABLE'}]`);
    }
    try {
      validateProfilesReferenced(config, scripts);
    } catch (err) {
      ctx.out(`Profile error: ${(err as Error).message}`);
    }
    ctx.out('Self-check complete.');
    return 0;
  },
};
