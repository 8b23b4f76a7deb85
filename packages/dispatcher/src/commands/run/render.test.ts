import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { asyncSubmitLines, runResultLines, statusLines } from './render.js';
import { Progress, splitPassthrough } from './support.js';

test('run lines: OK/FAIL heads, reported name, ERROR, stdout only when it has text, every stderr line prefixed', () => {
  assert.deepEqual(
    runResultLines([
      { host: 'a', script: 's', exit: 0, stdout: 'one\ntwo', stderr: '', rtt: '4ms', reqid: 'r1' },
      { host: 'b', reported_hostname: 'b.example', exit: 1, stdout: '  \n', stderr: 'e1\ne2\n', rtt: '5ms', reqid: 'r1' },
      { host: 'c', script: 's', exit: -1, error: 'read timeout after 60s', rtt: '60001ms', reqid: 'r1' },
      { host: 'd', rtt: '1ms' },
    ]),
    [
      '==> a  [OK  exit:0  4ms  req:r1]',
      'one\ntwo',
      '==> b (b.example)  [FAIL  exit:1  5ms  req:r1]',
      '    STDERR: e1',
      '    STDERR: e2',
      '==> c  [FAIL  exit:-1  60001ms  req:r1]',
      '    ERROR: read timeout after 60s',
      '==> d  [FAIL  exit:-1  1ms  req:]',
    ],
  );
});

test('async submit and status lines', () => {
  assert.deepEqual(
    asyncSubmitLines('abc', [
      { host: 'a', status: 'accepted', rtt: '3ms' },
      { host: 'b', status: 'busy', error: 'script already running', rtt: '2ms' },
      { host: 'c', status: 'error', error: 'forbidden: serial mismatch', rtt: '1ms' },
    ]),
    [
      'Submitted async run  req:abc',
      '==> a  [accepted  3ms]',
      '==> b  [BUSY: script already running]',
      '==> c  [ERROR: forbidden: serial mismatch]',
      'Check progress with: ctrl-exec status abc',
    ],
  );
  assert.deepEqual(
    statusLines({
      reqid: 'abc',
      script: 's',
      mode: 'async',
      created: 1,
      complete: false,
      pending: ['b', 'c'],
      hosts: {
        e: { status: 'expired' },
        a: { status: 'done', exit: 2, stdout: 'x\n', stderr: 'y' },
        b: { status: 'running', fetch_error: 'read timeout after 60s' },
        c: { status: 'accepted' },
        d: { status: 'error', error: 'boom' },
      },
    }),
    [
      'Request abc  (script: s)  [PENDING]',
      '==> a  [done  exit:2]',
      'x',
      '    STDERR: y',
      '==> b  [running]',
      '    (fetch pending: read timeout after 60s)',
      '==> c  [accepted]',
      '==> d  [ERROR]',
      '    boom',
      '==> e  [EXPIRED]',
    ],
  );
});

function tty(isTTY: boolean): { stream: PassThrough & { isTTY?: boolean }; text: () => string } {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  stream.isTTY = isTTY;
  let out = '';
  stream.on('data', (d: Buffer) => (out += d.toString()));
  return { stream, text: () => out };
}

test('progress: on a terminal with several hosts only; summary at the end', async () => {
  const term = tty(true);
  const p = new Progress(term.stream, 3);
  p.hostDone(false);
  p.hostDone(true);
  p.hostDone(false);
  p.finish();
  await new Promise((r) => setImmediate(r));
  // eslint-disable-next-line no-control-regex
  assert.match(term.text(), /^\r\[0\/3\] done, 0 failed\r\[1\/3\] done, 0 failed\r\[2\/3\] done, 1 failed\r\[3\/3\] done, 1 failed\r\x1b\[K2 ok, 1 failed in \d+\.\ds\n$/);

  for (const [isTTY, n] of [[false, 3], [true, 1]] as const) {
    const s = tty(isTTY);
    const q = new Progress(s.stream, n);
    q.hostDone(true);
    q.finish();
    await new Promise((r) => setImmediate(r));
    assert.equal(s.text(), '');
  }
});

test('script arguments start after the first --', () => {
  assert.deepEqual(splitPassthrough(['h', 's', '--', 'a', '--', 'b']), { positional: ['h', 's'], passthrough: ['a', '--', 'b'] });
  assert.deepEqual(splitPassthrough(['h', 's']), { positional: ['h', 's'], passthrough: [] });
});
