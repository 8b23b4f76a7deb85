import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CtrlExecError } from '@ctrl-exec/core';
import { inOverlap, readRotationState, writeRotationState, type RotationState } from './state.js';

function dir(t: { after: (fn: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'ce-rotation-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const STATE: RotationState = {
  current_serial: 'b2',
  previous_serial: 'a1',
  rotated_at: '2026-12-01T00:00:00Z',
  overlap_expires: '2026-12-31T00:00:00Z',
  overlap_days: 30,
};

test('rotation.json round-trips, 0640, upstream field names', (t) => {
  const path = join(dir(t), 'state', 'rotation.json');
  assert.equal(readRotationState(path), undefined, 'absent: no rotation yet');
  writeRotationState(path, STATE);
  assert.deepEqual(readRotationState(path), STATE);
  assert.equal(statSync(path).mode & 0o777, 0o640);
});

test('a corrupt rotation.json is CE_ERR_ROTATION_STATE with the reason', (t) => {
  const path = join(dir(t), 'rotation.json');
  const cases: Array<[string, string]> = [
    ['{"current_serial": ', 'JSON parse failed - rotation state unreadable'],
    ['[1,2]', 'not a JSON object'],
    ['null', 'not a JSON object'],
    [JSON.stringify({ ...STATE, current_serial: '' }), 'current_serial missing'],
    [JSON.stringify({ ...STATE, overlap_expires: undefined }), 'overlap_expires missing'],
    [JSON.stringify({ ...STATE, overlap_expires: 'soon' }), 'overlap_expires is not a date'],
    [JSON.stringify({ ...STATE, previous_serial: 7 }), 'previous_serial is not a string'],
  ];
  for (const [text, reason] of cases) {
    writeFileSync(path, text);
    assert.throws(
      () => readRotationState(path),
      (err: unknown) => err instanceof CtrlExecError && err.code === 'CE_ERR_ROTATION_STATE' && err.details?.reason === reason,
      text,
    );
  }
});

test('inOverlap: only with a previous serial and before overlap_expires', () => {
  const before = new Date('2026-12-30T23:59:59Z');
  const after = new Date('2026-12-31T00:00:00Z');
  assert.equal(inOverlap(STATE, before), true);
  assert.equal(inOverlap(STATE, after), false);
  assert.equal(inOverlap(undefined, before), false);
  const { previous_serial: _p, ...retired } = STATE;
  assert.equal(inOverlap({ ...retired, previous_retired: '2026-12-31T00:00:00Z' }, before), false);
});
