import type { AgentConfig } from './agent-config.js';
import type { ScriptEntry } from './scripts-config.js';
import { configError } from './warning.js';

/**
 * Every profile an allowlist entry uses, `default` included, must be defined in
 * agent.conf (no implicit default). Throws a CE_ERR_CONFIG_VALUE ConfigError located
 * at the first offending scripts.conf entry; `details.undefined` lists every
 * `script -> profile` pair that fails.
 */
export function validateProfilesReferenced(
  agentConfig: Pick<AgentConfig, 'file' | 'profiles'>,
  scripts: ReadonlyMap<string, ScriptEntry> | Iterable<ScriptEntry>,
): void {
  const entries = scripts instanceof Map ? [...(scripts as ReadonlyMap<string, ScriptEntry>).values()] : [...(scripts as Iterable<ScriptEntry>)];
  const missing = entries
    .filter((e) => !agentConfig.profiles.has(e.profile))
    .sort((a, b) => a.line - b.line || a.name.localeCompare(b.name));
  const first = missing[0];
  if (!first) return;
  const others = missing.length > 1 ? ` (and ${missing.length - 1} more)` : '';
  throw configError(
    `script '${first.name}' uses undefined profile '${first.profile}': define [profile ${first.profile}] in ${agentConfig.file}${others}`,
    { file: first.file, line: first.line, key: first.name, code: 'CE_ERR_CONFIG_VALUE' },
    undefined,
    { undefined: missing.map((e) => `${e.name} -> ${e.profile}`) },
  );
}
