/**
 * Every process the benchmarks start goes through here, so that all of them are stopped on
 * success, failure, SIGINT and SIGTERM. Detached helpers started by the CLIs themselves
 * (pairing-mode in the background, an agent's background pairing wait) are registered as
 * cleanup steps by whoever starts them.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { log } from './report.mjs';

const live = new Set();
const cleanups = [];
const timeFiles = new Set();
const TIME_BIN = '/usr/bin/time';
export const HAVE_TIME = existsSync(TIME_BIN);

/** Extra node flags for the programs under test (e.g. --cpu-prof); set by run.mjs. */
export const nodeFlags = [];

export function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** A cleanup step, run (last registered first) by cleanup(). */
export function onCleanup(fn) {
  cleanups.push(fn);
}

/** Kill one process id that we started (directly or through a CLI's --background). */
export function killPid(pid, signal = 'SIGKILL') {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

export async function cleanup() {
  while (cleanups.length > 0) {
    const fn = cleanups.pop();
    try {
      await fn();
    } catch (err) {
      log(`cleanup step failed: ${err.message}`);
    }
  }
  for (const child of live) child.kill('SIGKILL');
  for (const file of timeFiles) rmSync(file, { force: true });
}

let installed = false;
export function installSignalHandlers() {
  if (installed) return;
  installed = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      log(`${sig}: stopping everything`);
      cleanup().finally(() => process.exit(130));
    });
  }
}

/** A temp directory removed by cleanup(). */
export function tempDir(prefix = 'ce-bench-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Run `node <bin> <args>` to completion. Wall time is measured here (spawn to exit); when
 * /usr/bin/time is available it wraps the process and gives its CPU time and peak RSS.
 */
export function runNode(bin, args, { env = {}, timeoutMs = 120_000, input = '', measure = true, flags = nodeFlags } = {}) {
  const timeFile = join(tmpdir(), `ce-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const nodeArgv = [...flags, bin, ...args];
  if (measure && HAVE_TIME) timeFiles.add(timeFile);
  const [cmd, argv] = measure && HAVE_TIME ? [TIME_BIN, ['-f', '%e %U %S %M', '-o', timeFile, process.execPath, ...nodeArgv]] : [process.execPath, nodeArgv];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = track(spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - started;
      clearTimeout(timer);
      const r = { code, signal, stdout, stderr, wallMs };
      if (measure && HAVE_TIME && existsSync(timeFile)) {
        const line = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
        rmSync(timeFile, { force: true });
        timeFiles.delete(timeFile);
        const [, user, sys, maxRss] = line.split(' ').map(Number);
        if (Number.isFinite(user)) Object.assign(r, { cpuMs: (user + sys) * 1000, userMs: user * 1000, sysMs: sys * 1000, maxRssMb: maxRss / 1024 });
      }
      resolve(r);
    });
    child.stdin.end(input);
  });
}

/** A long-running `node <bin> <args>` whose stdout can be awaited. */
export function startNode(bin, args, { env = {}, flags = nodeFlags } = {}) {
  const child = track(spawn(process.execPath, [...flags, bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  const proc = {
    child,
    pid: child.pid,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    /** Resolve with the first match of `re` in stdout. */
    waitFor(re, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = proc.stdout.match(re);
          if (m) {
            done();
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${re} from ${bin}; stderr: ${proc.stderr.slice(-2000)}`));
        }, timeoutMs);
        const onExit = () => {
          done();
          reject(new Error(`${bin} ${args.join(' ')} exited before ${re}; stderr: ${proc.stderr.slice(-2000)}`));
        };
        const done = () => {
          clearTimeout(timer);
          child.stdout.off('data', check);
          child.off('exit', onExit);
        };
        child.stdout.on('data', check);
        child.once('exit', onExit);
        check();
      });
    },
    /** SIGTERM, then SIGKILL after `graceMs`. */
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await proc.exited;
      clearTimeout(timer);
    },
  };
  child.stdout.on('data', (d) => (proc.stdout += d));
  child.stderr.on('data', (d) => (proc.stderr += d));
  return proc;
}

/** VmRSS of a running process, in MiB (Linux /proc). */
export function rssMb(pid) {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * User+system CPU time of a running process so far, in ms (Linux /proc); with `children`,
 * plus that of its children already waited for (an agent's scripts).
 */
export function cpuMsOf(pid, { children = false } = {}) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // after the comm: f[11] utime, f[12] stime, f[13] cutime, f[14] cstime, in clock ticks
  const ticks = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
  return (ticks * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100;
