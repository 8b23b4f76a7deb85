import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RateLimiter,
  parseRateSpec,
  DEFAULT_VOLUME_SPEC,
  DEFAULT_PROBE_SPEC,
  RATE_SPEC_WARNING,
  type RateLimitEvent,
  type RateLimiterOptions,
} from './rate-limit.js';

function setup(extra: Partial<RateLimiterOptions> = {}) {
  let clock = 1_700_000_000_000;
  const events: RateLimitEvent[] = [];
  const limiter = new RateLimiter({
    volume: { ...DEFAULT_VOLUME_SPEC },
    probe: { ...DEFAULT_PROBE_SPEC },
    now: () => clock,
    onEvent: (e) => events.push(e),
    ...extra,
  });
  return {
    limiter,
    events,
    advance: (seconds: number) => {
      clock += seconds * 1000;
    },
  };
}

test('parseRateSpec reads limit/window/block and falls back with the exact warning', () => {
  const fb = { limit: 10, window: 60, block: 300 };
  assert.deepEqual(parseRateSpec('5/30/120', fb), { spec: { limit: 5, window: 30, block: 120 } });
  assert.deepEqual(parseRateSpec('  0/0/0 ', fb), { spec: { limit: 0, window: 0, block: 0 } });
  assert.deepEqual(parseRateSpec(undefined, fb), { spec: fb });
  assert.deepEqual(parseRateSpec('', fb), { spec: fb });
  for (const bad of ['5/30', '5/30/120/1', 'a/b/c', '-1/30/120', '5.5/30/120', '5 /30/120', '5/30/120x', '99999999999999999999/1/1', '/30/120', '5//120']) {
    const r = parseRateSpec(bad, fb);
    assert.deepEqual(r.spec, fb, bad);
    assert.equal(r.warning, 'invalid format, expected limit/window/block - using defaults', bad);
  }
  assert.equal(RATE_SPEC_WARNING, 'invalid format, expected limit/window/block - using defaults');
  // The fallback is copied, not shared.
  assert.notEqual(parseRateSpec(undefined, fb).spec, fb);
});

test('volume: 10 connections per window pass, the 11th blocks for the block time, reported once', () => {
  const { limiter, events, advance } = setup();
  for (let i = 0; i < 10; i++) assert.equal(limiter.allowConnection('10.0.0.1'), true, `connection ${i + 1}`);
  assert.equal(limiter.isBlocked('10.0.0.1'), false);
  assert.equal(limiter.allowConnection('10.0.0.1'), false);
  assert.equal(limiter.isBlocked('10.0.0.1'), true);
  assert.deepEqual(events, [{ action: 'rate-block', peer: '10.0.0.1', reason: 'volume' }]);
  // Later drops are silent; other IPs are unaffected.
  for (let i = 0; i < 5; i++) assert.equal(limiter.allowConnection('10.0.0.1'), false);
  assert.equal(limiter.allowConnection('10.0.0.2'), true);
  assert.equal(events.length, 1);
  // Still blocked just before the block ends, free right after; the history starts afresh.
  advance(299);
  assert.equal(limiter.allowConnection('10.0.0.1'), false);
  advance(1);
  assert.equal(limiter.isBlocked('10.0.0.1'), false);
  for (let i = 0; i < 10; i++) assert.equal(limiter.allowConnection('10.0.0.1'), true);
  assert.equal(limiter.allowConnection('10.0.0.1'), false);
  assert.equal(events.length, 2);
});

test('volume: connections older than the window no longer count', () => {
  const { limiter, events, advance } = setup();
  for (let i = 0; i < 10; i++) {
    assert.equal(limiter.allowConnection('10.0.0.1'), true); // t = 0, 5, ..., 45 s
    advance(5);
  }
  advance(11); // t = 61 s: only the t=0 connection has left the 60 s window
  assert.equal(limiter.allowConnection('10.0.0.1'), true);
  assert.equal(limiter.allowConnection('10.0.0.1'), false, 'nine old + one new fill the window again');
  assert.deepEqual(events, [{ action: 'rate-block', peer: '10.0.0.1', reason: 'volume' }]);
});

test('volume: a steady rate under the limit is never blocked', () => {
  const { limiter, events, advance } = setup();
  for (let i = 0; i < 1000; i++) {
    assert.equal(limiter.allowConnection('10.0.0.1'), true);
    advance(6.5);
  }
  assert.equal(events.length, 0);
});

test('probe: three handshake failures are tolerated, the fourth blocks for an hour', () => {
  const { limiter, events, advance } = setup();
  for (let i = 0; i < 3; i++) limiter.recordProbeFailure('192.0.2.7');
  assert.equal(limiter.isBlocked('192.0.2.7'), false);
  assert.equal(limiter.allowConnection('192.0.2.7'), true);
  limiter.recordProbeFailure('192.0.2.7');
  assert.equal(limiter.isBlocked('192.0.2.7'), true);
  assert.equal(limiter.allowConnection('192.0.2.7'), false);
  limiter.recordProbeFailure('192.0.2.7');
  assert.deepEqual(events, [{ action: 'rate-block', peer: '192.0.2.7', reason: 'probe' }]);
  advance(3599);
  assert.equal(limiter.isBlocked('192.0.2.7'), true);
  advance(1);
  assert.equal(limiter.isBlocked('192.0.2.7'), false);
  assert.equal(limiter.allowConnection('192.0.2.7'), true);
});

test('probe: failures spread wider than the window never block', () => {
  const { limiter, events, advance } = setup();
  for (let i = 0; i < 20; i++) {
    limiter.recordProbeFailure('192.0.2.7');
    advance(201); // 3 failures span 402 s; the 4th comes 603 s after the first
  }
  assert.equal(limiter.isBlocked('192.0.2.7'), false);
  assert.equal(events.length, 0);
});

test('a limit of 0 disables that check only; disabled disables everything', () => {
  const noVolume = setup({ volume: { limit: 0, window: 60, block: 300 } });
  for (let i = 0; i < 100; i++) assert.equal(noVolume.limiter.allowConnection('10.0.0.1'), true);
  assert.equal(noVolume.limiter.size, 0, 'nothing recorded for a disabled check');
  for (let i = 0; i < 4; i++) noVolume.limiter.recordProbeFailure('10.0.0.1');
  assert.equal(noVolume.limiter.allowConnection('10.0.0.1'), false, 'probe check still active');

  const noProbe = setup({ probe: { limit: 0, window: 600, block: 3600 } });
  for (let i = 0; i < 100; i++) noProbe.limiter.recordProbeFailure('10.0.0.1');
  assert.equal(noProbe.limiter.isBlocked('10.0.0.1'), false);
  for (let i = 0; i < 10; i++) assert.equal(noProbe.limiter.allowConnection('10.0.0.1'), true);
  assert.equal(noProbe.limiter.allowConnection('10.0.0.1'), false, 'volume check still active');

  const off = setup({ disabled: true });
  for (let i = 0; i < 100; i++) {
    assert.equal(off.limiter.allowConnection('10.0.0.1'), true);
    off.limiter.recordProbeFailure('10.0.0.1');
  }
  assert.equal(off.limiter.isBlocked('10.0.0.1'), false);
  assert.equal(off.limiter.size, 0);
  assert.equal(off.events.length, 0);
});

test('a block of 0 s drops only the crossing connection', () => {
  const { limiter, events } = setup({ volume: { limit: 2, window: 60, block: 0 } });
  assert.equal(limiter.allowConnection('10.0.0.1'), true);
  assert.equal(limiter.allowConnection('10.0.0.1'), true);
  assert.equal(limiter.allowConnection('10.0.0.1'), false);
  assert.equal(limiter.isBlocked('10.0.0.1'), false);
  assert.equal(limiter.allowConnection('10.0.0.1'), true);
  assert.equal(events.length, 1);
});

test('forgive drops recorded connections so a trusted dispatcher never blocks itself', () => {
  const { limiter, events } = setup();
  for (let i = 0; i < 1000; i++) {
    assert.equal(limiter.allowConnection('127.0.0.1'), true, `connection ${i}`);
    limiter.forgive('127.0.0.1');
  }
  assert.equal(events.length, 0);
  assert.equal(limiter.size, 0, 'a forgiven IP with no other state leaves the table');
  // forgive keeps probe history and blocks already in force
  for (let i = 0; i < 3; i++) limiter.recordProbeFailure('10.0.0.9');
  limiter.forgive('10.0.0.9');
  limiter.recordProbeFailure('10.0.0.9');
  assert.equal(limiter.isBlocked('10.0.0.9'), true);
  limiter.forgive('10.0.0.9');
  assert.equal(limiter.isBlocked('10.0.0.9'), true);
  limiter.forgive('203.0.113.1'); // unknown IP: no-op
});

test('clear (SIGHUP) drops every block and record', () => {
  const { limiter } = setup();
  for (let i = 0; i < 11; i++) limiter.allowConnection('10.0.0.1');
  assert.equal(limiter.isBlocked('10.0.0.1'), true);
  limiter.clear();
  assert.equal(limiter.size, 0);
  assert.equal(limiter.isBlocked('10.0.0.1'), false);
  assert.equal(limiter.allowConnection('10.0.0.1'), true);
});

function ip(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

test('table full of stale entries: they are reclaimed silently', () => {
  const { limiter, events, advance } = setup();
  for (let i = 0; i < 1000; i++) limiter.allowConnection(ip(i));
  assert.equal(limiter.size, 1000);
  advance(601); // past both windows, nobody blocked
  assert.equal(limiter.allowConnection('192.0.2.1'), true);
  assert.equal(limiter.size, 1);
  assert.deepEqual(events, []);
});

test('table full of live entries: the least recently active goes, rate-evict reported once per sweep', () => {
  const { limiter, events, advance } = setup();
  for (let i = 0; i < 1000; i++) limiter.allowConnection(ip(i));
  // ip(0) becomes recently active again; ip(1) is now the earliest.
  advance(1);
  limiter.allowConnection(ip(0));
  // A blocked IP that keeps knocking stays recent too.
  for (let i = 0; i < 11; i++) limiter.allowConnection(ip(2));
  assert.equal(limiter.isBlocked(ip(2)), true);
  events.length = 0;

  assert.equal(limiter.allowConnection('192.0.2.1'), true);
  assert.equal(limiter.size, 1000);
  assert.deepEqual(events, [{ action: 'rate-evict', count: 1000 }]);
  // ip(1) was evicted: it starts from zero (10 more allowed); ip(0) kept its two connections.
  for (let i = 0; i < 8; i++) assert.equal(limiter.allowConnection(ip(0)), true);
  assert.equal(limiter.allowConnection(ip(0)), false, 'ip(0) kept its history');
  for (let i = 0; i < 10; i++) assert.equal(limiter.allowConnection(ip(1)), true, 'ip(1) was forgotten');

  // Further new IPs evict without a new report until the next sweep.
  events.length = 0;
  for (let i = 0; i < 100; i++) limiter.allowConnection(`192.0.2.${100 + i}`);
  assert.equal(limiter.size, 1000);
  assert.deepEqual(events.filter((e) => e.action === 'rate-evict'), []);
  assert.equal(limiter.isBlocked(ip(2)), true, 'recently active blocked IP survives eviction');
  // After maxIps/4 new IPs another sweep runs and reports again.
  for (let i = 0; i < 200; i++) limiter.allowConnection(`198.51.100.${i}`);
  assert.equal(events.filter((e) => e.action === 'rate-evict').length, 1);
  assert.equal(limiter.size, 1000);
});

test('a mixed table reclaims the stale part and evicts nothing', () => {
  const { limiter, events, advance } = setup({ maxIps: 10 });
  for (let i = 0; i < 5; i++) limiter.allowConnection(ip(i));
  advance(700);
  for (let i = 5; i < 10; i++) limiter.allowConnection(ip(i));
  limiter.allowConnection('192.0.2.1');
  assert.equal(limiter.size, 6);
  assert.deepEqual(events, []);
  // A blocked entry whose window is empty is not reclaimed while the block lasts.
  const b = setup({ maxIps: 2, volume: { limit: 1, window: 1, block: 100 } });
  b.limiter.allowConnection('10.0.0.1');
  b.limiter.allowConnection('10.0.0.1'); // blocked for 100 s
  b.advance(10);
  b.limiter.allowConnection('10.0.0.2');
  b.advance(10);
  b.limiter.allowConnection('10.0.0.3'); // full: 10.0.0.2 reclaimable (window 1 s), 10.0.0.1 still blocked
  assert.equal(b.limiter.isBlocked('10.0.0.1'), true);
  assert.equal(b.limiter.size, 2);
  assert.deepEqual(b.events.filter((e) => e.action === 'rate-evict'), []);
});

test('hostile traffic: many IPs and many connections keep memory bounded', () => {
  const { limiter, advance } = setup({ volume: { limit: 50, window: 60, block: 1 } });
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 5000; i++) limiter.allowConnection(ip(round * 5000 + i));
    for (let i = 0; i < 500; i++) limiter.allowConnection('203.0.113.5');
    advance(0.5);
  }
  assert.ok(limiter.size <= 1000);
});
