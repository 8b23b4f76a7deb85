#!/usr/bin/env node
/**
 * Summarise V8 CPU profiles (from `npm run bench -- --cpu-prof=DIR`, or `node --cpu-prof`):
 * self time by file and by function, averaged over the given profiles (one per process).
 *   node bench/profile.mjs FILE.cpuprofile [more...] [--top=25]
 */
import { readFileSync } from 'node:fs';

const shorten = (url) => url.replace(/^file:\/\//, '').replace(/.*\/(node_modules|packages)\//, '$1/');

function addProfile(file, byFile, byFn) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const deltas = prof.timeDeltas ?? [];
  prof.samples.forEach((id, i) => {
    const us = deltas[i] ?? 0;
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const name = functionName || '(anonymous)';
    const where = url ? shorten(url) : `(${name})`;
    byFile.set(where, (byFile.get(where) ?? 0) + us);
    const fnKey = url ? `${name} ${where}:${lineNumber + 1}` : name;
    byFn.set(fnKey, (byFn.get(fnKey) ?? 0) + us);
  });
  return prof.endTime - prof.startTime;
}

const args = process.argv.slice(2);
const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 25);
const files = args.filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  console.error('usage: node bench/profile.mjs FILE.cpuprofile [...] [--top=N]');
  process.exitCode = 2;
} else {
  const byFile = new Map();
  const byFn = new Map();
  let totalUs = 0;
  for (const f of files) totalUs += addProfile(f, byFile, byFn);
  const n = files.length;
  const ms = (us) => (us / n / 1000).toFixed(2).padStart(8);
  const pct = (us) => `${((100 * us) / totalUs).toFixed(1).padStart(5)}%`;
  console.log(`${n} profile(s), ${(totalUs / n / 1000).toFixed(1)} ms profiled per process (times below are per process)`);
  console.log('-- self time by file');
  for (const [k, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(us)} ms ${pct(us)}  ${k}`);
  console.log('-- self time by function');
  for (const [k, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(us)} ms ${pct(us)}  ${k}`);
}
