import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type * as Pino from 'pino';
import { auditRecord, type AuditEvent } from './format.js';
import { jsonAuditLine, JsonSink } from './json-sink.js';
import type { Level } from './levels.js';

const require = createRequire(import.meta.url);

/** What pino itself writes for the same record, with the logger options this format promises. */
function pinoLine(ident: string, level: Level, record: Record<string, unknown>, now: Date): string {
  const pino = require('pino') as typeof Pino;
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString('utf8');
      done();
    },
  });
  const logger = pino.pino<Level, true>(
    {
      level: 'info',
      customLevels: { info: 30, warning: 40, err: 50 },
      useOnlyCustomLevels: true,
      base: { ident },
      timestamp: () => `,"time":"${now.toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    sink,
  );
  logger[level](record);
  return out;
}

test('JSON audit lines are byte-identical to pino output for the same event', () => {
  const now = new Date('2026-03-04T05:06:07.089Z');
  const events: AuditEvent[] = [
    { action: 'run', reqid: '0123456789abcdef', host: 'web-01', script: 'check-disk', exit: 0, args: ['a b', '"q"', '$(id)'] },
    { action: 'pair-reject', reason: 'body-too-large', ip: '127.0.0.1', level: 'warning' as const, time: 'x', ident: 'y', msg: 'z' },
    { action: 'config-warn', detail: 'line 3: unknown key \u2028 é \u0000 \\' },
  ];
  for (const event of events) {
    const record = auditRecord(event);
    for (const level of ['info', 'warning', 'err'] as const) {
      assert.equal(jsonAuditLine('ctrl-exec-agent', level, record, now), pinoLine('ctrl-exec-agent', level, record, now));
    }
  }
});

test('JsonSink appends whole lines to a 0640 file and keeps earlier content', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ce-json-sink-'));
  try {
    const path = join(dir, 'audit.jsonl');
    const diagnostics: string[] = [];
    const first = new JsonSink('ctrl-exec-dispatcher', { path }, (m) => diagnostics.push(m));
    first.write('info', { action: 'run', n: 1 });
    await first.close(100);
    const second = new JsonSink('ctrl-exec-dispatcher', { path }, (m) => diagnostics.push(m));
    second.write('err', { action: 'run', n: 2 });
    await second.close(100);
    second.write('err', { action: 'after-close' });
    const lines = readFileSync(path, 'utf8').split('\n');
    assert.equal(lines.pop(), '');
    assert.deepEqual(
      lines.map((l) => JSON.parse(l) as Record<string, unknown>).map(({ level, ident, action, n }) => ({ level, ident, action, n })),
      [
        { level: 'info', ident: 'ctrl-exec-dispatcher', action: 'run', n: 1 },
        { level: 'err', ident: 'ctrl-exec-dispatcher', action: 'run', n: 2 },
      ],
    );
    assert.equal(statSync(path).mode & 0o777, 0o640);
    assert.deepEqual(diagnostics, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('JsonSink reports a failed write once and keeps going', async () => {
  const diagnostics: string[] = [];
  // /dev/full accepts the open and fails every write with ENOSPC
  const sink = new JsonSink('ctrl-exec-agent', { path: '/dev/full' }, (m) => diagnostics.push(m));
  sink.write('info', { action: 'a' });
  sink.write('info', { action: 'b' });
  await sink.close(100);
  assert.deepEqual(diagnostics, ['cannot write JSON audit log (ENOSPC)']);
});
