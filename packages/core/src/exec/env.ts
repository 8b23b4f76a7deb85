/**
 * The environment a script runs with (features item 102): a fixed PATH plus a few
 * harmless locale/identity variables copied from the agent's own environment.
 * Everything else (LD_PRELOAD, BASH_ENV, IFS, PERL5LIB, ...) is dropped.
 */

export const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Variables passed through unchanged when the agent has them. */
export const PASSTHROUGH_ENV_VARS: readonly string[] = Object.freeze(['HOME', 'LANG', 'LC_ALL', 'TZ', 'TERM', 'USER', 'LOGNAME']);

/**
 * `PATH=SAFE_PATH` plus the pass-through variables present in `env`. A value that
 * contains a NUL byte cannot be placed in an environment and is left out.
 */
export function scrubEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = { PATH: SAFE_PATH };
  for (const name of PASSTHROUGH_ENV_VARS) {
    const value = env?.[name];
    if (typeof value === 'string' && !value.includes('\0')) out[name] = value;
  }
  return out;
}
