#!/usr/bin/env node
/**
 * Turn the JSON lines of one or more runs into a Markdown table (lines that are not JSON,
 * such as npm's banner, are skipped):  node bench/summary.mjs run.jsonl [more.jsonl]
 */
import { readFileSync } from 'node:fs';

const SKIP = new Set(['bench', 'metric', 'value', 'unit', 'note', 'verdict', 'target', 'upstream']);
const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node bench/summary.mjs FILE.jsonl [...]');
  process.exitCode = 2;
}
for (const file of files) {
  const rows = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    try {
      const v = JSON.parse(line);
      if (v && typeof v === 'object' && 'bench' in v) rows.push(v);
    } catch {
      /* not a figure */
    }
  }
  console.log(`\n### ${file}\n`);
  console.log('| bench | metric | value | target | upstream | details |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    const details = Object.entries(r)
      .filter(([k]) => !SKIP.has(k))
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`)
      .join(', ');
    const target = r.target === undefined ? '' : `${r.target}${r.verdict ? ` (${r.verdict})` : ''}`;
    console.log(`| ${r.bench} | ${r.metric} | ${r.value} ${r.unit === 'text' ? '' : r.unit} | ${target} | ${r.upstream ?? ''} | ${details.replace(/\|/g, '\\|')} |`);
  }
}
