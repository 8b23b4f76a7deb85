import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isoUtc, Registry, RunStore, type AsyncRunRecord } from '@ctrl-exec/core';
import type { Dispatcher, DispatchOutcome } from '@ctrl-exec/dispatcher';
import { StatusService } from './status-service.js';

interface Fake {
  dispatcher: Dispatcher;
  fetches(): number;
}

/** An engine whose /result answers come from `answer` (per call), with one registered host. */
function fakeEngine(dir: string, answer: (call: number) => Record<string, unknown>, delayMs = 0): Fake {
  const registry = new Registry(join(dir, 'agents'));
  registry.put({
    hostname: 'h1', ip: '127.0.0.1', paired: isoUtc(), expiry: '', reqid: '', lookup_by: 'ip', port: 7443, tags: {},
    dispatcher_serial: '', serial_status: 'current', serial_broadcast: '', serial_confirmed: '',
  });
  let calls = 0;
  const dispatcher = {
    registry,
    async fetchResults(opts: { reqid: string }): Promise<DispatchOutcome> {
      calls++;
      const n = calls;
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      return { reqid: opts.reqid, results: [{ host: 'h1', rtt: '1ms', reqid: opts.reqid, ...answer(n) }] };
    },
  } as unknown as Dispatcher;
  return { dispatcher, fetches: () => calls };
}

function pendingRecord(reqid: string): AsyncRunRecord {
  return { reqid, script: 's', mode: 'async', created: 1, hosts: { h1: { status: 'accepted' } }, pending: ['h1'], complete: false, submitter: { username: 'u', source_ip: '127.0.0.1' } };
}

function setup(t: { after(fn: () => void): void }, answer: (call: number) => Record<string, unknown>, delayMs = 0) {
  const dir = mkdtempSync(join(tmpdir(), 'ce-api-status-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const runs = new RunStore(join(dir, 'runs'));
  const fake = fakeEngine(dir, answer, delayMs);
  const audit: Array<Record<string, unknown>> = [];
  const status = new StatusService({ runs, dispatcher: fake.dispatcher, audit: (e) => audit.push(e), pollMs: 20 });
  return { dir, runs, fake, status, audit };
}

test('refresh: pending hosts fetched, the record rewritten with the submitter kept; concurrent callers share one fetch', async (t) => {
  const { runs, fake, status } = setup(t, () => ({ status: 'done', exit: 0, stdout: 'x', stderr: '' }), 50);
  runs.put(pendingRecord('aa01'));
  const rec = status.read('aa01')!;
  const [a, b, c] = await Promise.all([status.refresh(rec), status.refresh(rec), status.refresh(rec)]);
  assert.equal(fake.fetches(), 1);
  assert.equal(a, b);
  assert.equal(b, c);
  assert.equal(a.complete, true);
  const stored = runs.get('aa01') as AsyncRunRecord;
  assert.deepEqual(stored.hosts, { h1: { status: 'done', exit: 0, stdout: 'x', stderr: '' } });
  assert.deepEqual(stored.submitter, { username: 'u', source_ip: '127.0.0.1' });
  // Complete records are not fetched again.
  await status.refresh(stored);
  assert.equal(fake.fetches(), 1);
});

test('settle: polls until complete, without busy-looping', async (t) => {
  const { runs, fake, status } = setup(t, (n) => (n < 4 ? { status: 'running' } : { status: 'done', exit: 2, stdout: '', stderr: 'e' }));
  runs.put(pendingRecord('bb02'));
  const started = Date.now();
  const rec = await status.settle(status.read('bb02')!, 5000);
  assert.equal(rec.complete, true);
  assert.equal(fake.fetches(), 4);
  assert.ok(Date.now() - started >= 60, 'three poll intervals between four fetches');
  assert.ok(Date.now() - started < 2000);
});

test('settle: stops at the deadline, or at once when the signal fires', async (t) => {
  const { runs, fake, status } = setup(t, () => ({ status: 'running' }));
  runs.put(pendingRecord('cc03'));
  const started = Date.now();
  const rec = await status.settle(status.read('cc03')!, 200);
  const took = Date.now() - started;
  assert.equal(rec.complete, false);
  assert.ok(took >= 190 && took < 1500, `took ${took}`);
  const polls = fake.fetches();
  assert.ok(polls >= 5 && polls <= 15, `${polls} fetches at a 20 ms interval`);

  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const t0 = Date.now();
  await status.settle(status.read('cc03')!, 10_000, controller.signal);
  assert.ok(Date.now() - t0 < 1000);
});

test('read: expired records are removed and not served; absent or malformed reqids are undefined', async (t) => {
  const { runs, status, dir } = setup(t, () => ({ status: 'running' }));
  runs.put(pendingRecord('dd04'));
  const path = join(dir, 'runs', 'dd04.json');
  const old = (Date.now() - 86_400_000 - 1000) / 1000;
  utimesSync(path, old, old);
  assert.equal(status.read('dd04'), undefined);
  assert.equal(existsSync(path), false);
  assert.equal(status.read('ffff'), undefined);
  assert.equal(status.read('../etc/passwd'), undefined);
  assert.equal(status.read('ABC'), undefined);
  writeFileSync(join(dir, 'runs', 'ee05.json'), 'garbage');
  assert.throws(() => status.read('ee05'), { code: 'CE_ERR_FS' });
});

test('a store that cannot be written is logged as run-store-fail; the answer still comes back', async (t) => {
  const { runs, status, dir, audit } = setup(t, () => ({ status: 'done', exit: 0, stdout: '', stderr: '' }));
  runs.put(pendingRecord('ff06'));
  const rec = status.read('ff06')!;
  // The runs directory replaced by a file: the rewrite fails.
  rmSync(join(dir, 'runs'), { recursive: true });
  writeFileSync(join(dir, 'runs'), 'not a directory');
  const updated = await status.refresh(rec);
  assert.equal(updated.complete, true);
  assert.equal(audit[0]?.action, 'run-store-fail');
  assert.equal(audit[0]?.reqid, 'ff06');
});
