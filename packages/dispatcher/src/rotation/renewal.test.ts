import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renewalDue } from './renewal.js';

const NOW = new Date('2026-06-01T00:00:00Z');

test('renewalDue: under half of cert_days left, answered ok, nothing staged, readable expiry', () => {
  const ok = (expiry: unknown, extra: Record<string, unknown> = {}) => ({ host: 'h', rtt: '1ms', status: 'ok', staged: false, expiry, ...extra });
  // cert_days 365: due below 182.5 days
  assert.equal(renewalDue(ok('Nov 29 00:00:00 2026 GMT'), 365, NOW), true); // 181 days
  assert.equal(renewalDue(ok('Dec  2 00:00:00 2026 GMT'), 365, NOW), false); // 184 days
  assert.equal(renewalDue(ok('May  1 00:00:00 2026 GMT'), 365, NOW), true, 'already expired is due');
  assert.equal(renewalDue(ok('Jul  1 00:00:00 2026 GMT'), 30, NOW), false, '30 days left of a 30-day policy');
  assert.equal(renewalDue(ok('Jun 10 00:00:00 2026 GMT'), 30, NOW), true);
  // not due whatever the date
  assert.equal(renewalDue(ok('Jun 10 00:00:00 2026 GMT', { staged: true }), 365, NOW), false, 'staged already');
  assert.equal(renewalDue(ok('Jun 10 00:00:00 2026 GMT', { status: 'error' }), 365, NOW), false, 'failed ping');
  assert.equal(renewalDue(ok('unknown'), 365, NOW), false, 'unparseable expiry');
  assert.equal(renewalDue(ok(undefined), 365, NOW), false, 'no expiry');
  assert.equal(renewalDue(ok(1_700_000_000), 365, NOW), false, 'not a string');
});
