#!/usr/bin/env node
// Bundles each binary's entry into one ESM file next to it (dist/bin/<name>.bundle.mjs), so a
// CLI start-up loads one file instead of a hundred modules. Native and lazily-loaded packages
// stay external. The unbundled dist/bin/*.js entries keep working for development.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const entries = [
  ['dispatcher', 'ctrl-exec'],
  ['agent', 'ctrl-exec-agent'],
  ['agent', 'async-job', 'server'],
  ['orchestrator', 'ctrl-exec-scan'],
];

for (const [pkg, name, dir = 'bin'] of entries) {
  const entry = join(root, 'packages', pkg, 'dist', dir, `${name}.js`);
  if (!existsSync(entry)) continue;
  await build({
    entryPoints: [entry],
    outfile: join(root, 'packages', pkg, 'dist', dir, `${name}.bundle.mjs`),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['fs-ext', 'node-forge'],
    banner: { js: "import { createRequire as __ceCreateRequire } from 'node:module'; const require = __ceCreateRequire(import.meta.url);" },
    legalComments: 'none',
    logLevel: 'warning',
  });
}
