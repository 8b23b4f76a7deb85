/**
 * Signals to a whole process group. A script is spawned detached, so it leads its own
 * group (pgid = its pid) and whatever it starts in the background belongs to it.
 */

function validLeader(pid: number | undefined): pid is number {
  // -0 and -1 would address our own group or every process we may signal.
  return typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 1;
}

/** Send `signal` to the group led by `pid`; false when there is no such group. */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (!validLeader(pid)) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** True while any member of the group led by `pid` exists (zombies included). */
export function groupAlive(pid: number | undefined): boolean {
  if (!validLeader(pid)) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
