/**
 * Is anything else using the CPUs while we measure? CPU used by the whole machine (/proc/stat)
 * minus CPU used by this process and everything it started (live descendants, plus reaped
 * ones through cutime/cstime), as a share of the window's CPU capacity.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';

const TICK_MS = 10; // USER_HZ = 100 on Linux

function machineBusyMs() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return (user + nice + system + irq + softirq + steal) * TICK_MS;
}

function statOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // after the comm: state ppid ... utime(11) stime(12) cutime(13) cstime(14)
    return { ppid: Number(f[1]), cpuMs: (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_MS };
  } catch {
    return undefined;
  }
}

function ourTreeMs() {
  const stats = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = statOf(name);
    if (st) stats.set(Number(name), st);
  }
  const children = new Map();
  for (const [pid, st] of stats) {
    if (!children.has(st.ppid)) children.set(st.ppid, []);
    children.get(st.ppid).push(pid);
  }
  let total = 0;
  const stack = [process.pid];
  while (stack.length > 0) {
    const pid = stack.pop();
    total += stats.get(pid)?.cpuMs ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

export function startMeter() {
  const t0 = performance.now();
  const busy0 = machineBusyMs();
  const ours0 = ourTreeMs();
  return () => {
    const windowMs = performance.now() - t0;
    const foreign = Math.max(0, machineBusyMs() - busy0 - (ourTreeMs() - ours0));
    return { foreignShare: foreign / (windowMs * cpus().length), load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') };
  };
}
