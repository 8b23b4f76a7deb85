/** How a script's end maps to the `exit` of a run result (wire-protocol §7.1). */

/** Killed by a signal, timed out or cancelled. */
export const EXIT_SIGNALLED = 126;
/** The script could not be executed. */
export const EXIT_EXEC_FAILED = 127;
/** The process or its pipes could not be set up. */
export const EXIT_SPAWN_FAILED = -1;

/** errno codes that mean "this file cannot be executed" rather than "no process could be made". */
const EXEC_ERRNOS: ReadonlySet<string> = new Set([
  'ENOENT',
  'EACCES',
  'ENOEXEC',
  'ENOTDIR',
  'EISDIR',
  'ELOOP',
  'ENAMETOOLONG',
  'E2BIG',
  'EPERM',
  'ETXTBSY',
  'ELIBBAD',
  'ELIBACC',
]);

export interface StartFailure {
  exit: number;
  error: string;
}

/** Classify an error from `spawn` (thrown or emitted). */
export function startFailure(err: unknown): StartFailure {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && EXEC_ERRNOS.has(code)) return { exit: EXIT_EXEC_FAILED, error: `exec failed: ${code}` };
  const why = typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
  return { exit: EXIT_SPAWN_FAILED, error: `spawn failed: ${why}` };
}
