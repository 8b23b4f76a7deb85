import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScriptEntry } from '@ctrl-exec/core';
import { canonicalJson, derivedSchemaVersion, loadSchemas, readSidecar, schemaVersionOf } from './schemas.js';

function dir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'cea-schema-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('canonical JSON sorts keys at every level, no whitespace', () => {
  assert.equal(canonicalJson({ b: 1, a: [3, { d: null, c: 'x' }], 'é': true }), '{"a":[3,{"c":"x","d":null}],"b":1,"é":true}');
  assert.equal(canonicalJson([]), '[]');
  assert.equal(canonicalJson('a"b'), '"a\\"b"');
});

test('derived version: sha256 prefix, 12 hex, independent of formatting and key order', () => {
  const a = derivedSchemaVersion({ x: 1, y: [1, 2] });
  const b = derivedSchemaVersion(JSON.parse('{\n  "y": [1, 2],\n  "x": 1\n}') as Record<string, unknown>);
  assert.equal(a, b);
  const expected = createHash('sha256').update('{"x":1,"y":[1,2]}').digest('hex').slice(0, 12);
  assert.equal(a, `sha256:${expected}`);
});

test('explicit versions: plain short tokens only', () => {
  assert.deepEqual(schemaVersionOf({ version: '2.0.1-rc_1' }), { version: '2.0.1-rc_1' });
  for (const bad of ['', 'has space', 'x'.repeat(65), 'sha256:abc', 7, null, ['1']]) {
    const r = schemaVersionOf({ version: bad });
    assert.match(r.version, /^sha256:[0-9a-f]{12}$/, String(bad));
    assert.ok(r.note, String(bad));
  }
  assert.equal(schemaVersionOf({}).note, undefined);
});

test('sidecars: absent, oversize, invalid, not an object, unreadable, fine', (t) => {
  const d = dir(t);
  const p = (name: string, body?: string) => {
    const script = join(d, name);
    if (body !== undefined) writeFileSync(`${script}.schema.json`, body);
    return script;
  };
  assert.deepEqual(readSidecar(p('none')), { kind: 'absent' });
  assert.deepEqual(readSidecar(p('big', `{"a":"${'x'.repeat(65_600)}"}`)), { kind: 'skip', reason: `oversize: ${65_600 + 8} > 65536 bytes` });
  const invalid = readSidecar(p('bad', '{ nope'));
  assert.equal(invalid.kind, 'skip');
  assert.match((invalid as { reason: string }).reason, /^invalid JSON: /);
  for (const body of ['[1]', '"s"', 'null', '3']) assert.deepEqual(readSidecar(p('arr', body)), { kind: 'skip', reason: 'not a JSON object' });
  const script = join(d, 'isdir');
  mkdirSync(`${script}.schema.json`);
  assert.deepEqual(readSidecar(script), { kind: 'skip', reason: 'cannot read: not a regular file' });
  const ok = readSidecar(p('ok', '{"version":"3","arguments":{"type":"object"}}'));
  assert.deepEqual(ok, { kind: 'ok', schema: { version: '3', arguments: { type: 'object' } }, schemaVersion: '3' });
});

test('loadSchemas: events for skipped sidecars and derived versions', (t) => {
  const d = dir(t);
  const entry = (name: string, body: string): ScriptEntry => {
    const path = join(d, `${name}.sh`);
    writeFileSync(`${path}.schema.json`, body);
    return { name, path, profile: 'default', annotations: {}, file: 'x', line: 1 };
  };
  const { schemas, events } = loadSchemas([entry('a', '{"version":"bad version"}'), entry('b', '[]'), entry('c', '{"version":"1"}')]);
  assert.deepEqual([...schemas.keys()], ['a', 'c']);
  assert.deepEqual(events, [
    { action: 'schema-version-derive', script: 'a', reason: 'invalid version field, derived from content' },
    { action: 'schema-skip', script: 'b', reason: 'not a JSON object' },
  ]);
});
