/**
 * fs-floor: what creating one small file costs on the filesystem holding the benchmark's
 * state directories (os.tmpdir(); the run store writes one new file per run), and on /dev/shm
 * (tmpfs, where the agent makes its FIFOs) for comparison. CPU includes kernel time.
 */
import { closeSync, existsSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { emit } from './lib/report.mjs';

function createFiles(base, n) {
  const dir = mkdtempSync(join(base, 'ce-bench-fs-'));
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      // as an atomic write does it: a new temp file, written, renamed into place
      const fd = openSync(join(dir, `.r${i}.tmp`), 'wx', 0o600);
      writeSync(fd, '{"reqid":"0000000000000000","results":[]}\n');
      closeSync(fd);
      renameSync(join(dir, `.r${i}.tmp`), join(dir, `r${i}.json`));
    }
    const cpu = process.cpuUsage(cpu0);
    return { wallUs: ((performance.now() - t0) * 1000) / n, cpuUs: (cpu.user + cpu.system) / n };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function fsFloor(ctx) {
  const n = ctx.full ? 2000 : 500;
  const places = [['state_fs', tmpdir()]];
  if (existsSync('/dev/shm')) places.push(['dev_shm', '/dev/shm']);
  for (const [label, base] of places) {
    const r = createFiles(base, n);
    emit('fs-floor', `create_file_cpu_us_${label}`, r.cpuUs, 'us', { path: base, samples: n, wall_us: Math.round(r.wallUs), note: 'open(O_CREAT|O_EXCL) + write + close + rename, CPU of this process incl. kernel' });
  }
}
