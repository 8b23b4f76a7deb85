import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finding } from '@ctrl-exec/orchestrator';
import { hostScan } from './host-scan.js';

const GOOD = finding({ engine: 'semgrep', type: 'sast', ruleId: 'r1', title: 'eval', severity: 'medium', location: { path: 'a.py', startLine: 2 } });

function result(stdout: string, extra: Record<string, unknown> = {}) {
  return { host: 'web-01', rtt: '5ms', exit: 0, stdout, stderr: '', ...extra };
}

test('hostScan reads the runner report; malformed findings from an agent are dropped and said', () => {
  const ok = hostScan(result(JSON.stringify({ ok: true, source: 'path /srv/app', engines: { semgrep: { ok: true, findings: 1, duration_ms: 3 } }, findings: [GOOD] })));
  assert.deepEqual([ok.ok, ok.source, ok.findings], [true, 'path /srv/app', [GOOD]]);

  const hostile = hostScan(result(JSON.stringify({ ok: true, engines: {}, findings: [GOOD, { severity: 'x' }, 'nope', { ...GOOD, location: { path: {} } }] })));
  assert.equal(hostile.ok, false);
  assert.equal(hostile.error, '2 malformed finding(s) ignored');
  assert.equal(hostile.findings.length, 2);

  assert.deepEqual(hostScan(result('not json', { exit: 2, stderr: 'boom\n' })), { host: 'web-01', ok: false, error: 'no scan report (exit 2): boom', findings: [] });
  assert.equal(hostScan(result('{"findings":"x"}')).error, 'unreadable scan report');
  assert.match(hostScan(result('{', { truncated: true })).error!, /^scan report truncated by the agent/);
  assert.deepEqual(hostScan({ host: 'web-02', rtt: '1ms', exit: -1, error: "host 'web-02' did not respond" }), { host: 'web-02', ok: false, error: "host 'web-02' did not respond", findings: [] });
});
