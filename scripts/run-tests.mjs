#!/usr/bin/env node
// Runs every compiled test file (packages/*/dist/**/*.test.js and test/dist/**/*.test.js)
// with node's test runner. Extra arguments filter test files by substring.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const roots = [];
for (const pkg of readdirSync(join(root, 'packages'))) roots.push(join(root, 'packages', pkg, 'dist'));
roots.push(join(root, 'test', 'dist'));

function walk(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2).filter((a) => !a.startsWith('-')).map((a) => a.replace(/(^|\/)src\//, '$1dist/').replace(/\.ts$/, '.js'));
const passthrough = process.argv.slice(2).filter((a) => a.startsWith('-'));
let files = roots.flatMap((r) => walk(r, [])).sort();
if (filters.length) files = files.filter((f) => filters.some((s) => relative(root, f).includes(s)));
if (files.length === 0) {
  console.error('no test files found (did the build run?)');
  process.exit(1);
}
const res = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-reporter=spec', ...passthrough, ...files],
  { stdio: 'inherit', cwd: root },
);
process.exit(res.status ?? 1);
