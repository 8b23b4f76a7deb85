/**
 * `pairing-mode` on a terminal: driven through a pseudo-terminal made by util-linux
 * `script`, answered with a / d / s for one request and a<N> / d<N> for several.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DISPATCHER_BIN, Proc, ced } from './helpers/cli.js';
import { makeDispatcher } from './helpers/env.js';
import { RawPairingConnection, opensslCsr } from './helpers/raw-pairing-client.js';

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

test('interactive prompt: a approves, d denies, s skips, a1/d2 pick from several', async (t) => {
  const d = await makeDispatcher(t);
  const cmd = [process.execPath, DISPATCHER_BIN, 'pairing-mode', '--port', '0', '--bind', '127.0.0.1', '--timeout', '120'].map(shellQuote).join(' ');
  const proc = new Proc('', [], { command: 'script', argv: ['-qfec', cmd, '/dev/null'], env: d.env });
  t.after(() => proc.stop('SIGKILL'));
  const port = Number((await proc.waitFor(/Pairing mode active on port (\d+)/))[1]);
  const { csr } = opensslCsr('tty-agent');
  const conns: RawPairingConnection[] = [];
  t.after(() => conns.forEach((c) => c.destroy()));

  async function request(host: string): Promise<{ conn: RawPairingConnection; reqid: string; nonce: string }> {
    const conn = await RawPairingConnection.connect(port);
    conns.push(conn);
    const nonce = randomBytes(16).toString('hex');
    conn.sendPair({ hostname: host, csr, nonce, port: '7443' });
    const ack = await conn.readResponse();
    assert.equal(ack.body.status, 'pending');
    return { conn, reqid: ack.body.reqid as string, nonce };
  }

  let mark = 0;
  async function expectOutput(re: RegExp): Promise<string> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const tail = proc.stdout.slice(mark);
      const m = re.exec(tail);
      if (m) {
        mark += m.index + m[0].length;
        return m[0];
      }
      if (Date.now() > deadline) throw new Error(`no ${re} in:\n${tail}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  // one request: a
  const one = await request('tty-one');
  await expectOutput(/Hostname:\s+tty-one[\s\S]*Accept, Deny, or Skip\? \[a\/d\/s\]: /);
  proc.write('a\n');
  const v1 = await one.conn.readResponse(5000);
  assert.equal(v1.body.status, 'approved');
  assert.equal(v1.body.nonce, one.nonce);

  // one request: d
  const two = await request('tty-two');
  await expectOutput(/Hostname:\s+tty-two[\s\S]*\[a\/d\/s\]: /);
  proc.write('d\n');
  assert.deepEqual((await two.conn.readResponse(5000)).body, { status: 'denied', reason: 'rejected by operator' });

  // one request: s leaves it pending
  const three = await request('tty-three');
  await expectOutput(/Hostname:\s+tty-three[\s\S]*\[a\/d\/s\]: /);
  proc.write('s\n');
  await expectOutput(/Skipped 'tty-three'/);
  const listed = await ced(['list-requests'], { env: d.env });
  assert.match(listed.stdout, new RegExp(three.reqid));

  // unknown input is explained
  proc.write('x\n');
  await expectOutput(/Unknown command 'x'\. Commands: a\/d\/s\/list\/quit or a1\/d1 for multiple\./);

  // several pending: numbered list, a<N> and d<N>
  const four = await request('tty-four');
  const five = await request('tty-five');
  await expectOutput(/3 pending pairing requests:[\s\S]*?Approve with a<N>, deny with d<N>, list, or quit: /);
  const screen = proc.stdout;
  const listBlock = screen.slice(screen.lastIndexOf('3 pending pairing requests:'));
  const numberOf = (host: string) => Number(new RegExp(`(\\d)\\) ${host} `).exec(listBlock)![1]);
  proc.write(`a${numberOf('tty-four')}\n`);
  assert.equal((await four.conn.readResponse(5000)).body.status, 'approved');
  await expectOutput(/Approved 'tty-four'/);
  await expectOutput(/2 pending pairing requests:[\s\S]*?list, or quit: /);
  const block2 = proc.stdout.slice(proc.stdout.lastIndexOf('2 pending pairing requests:'));
  const n5 = Number(/(\d)\) tty-five /.exec(block2)![1]);
  proc.write(`d${n5}\n`);
  assert.deepEqual((await five.conn.readResponse(5000)).body, { status: 'denied', reason: 'rejected by operator' });

  // the skipped one is still there; quit stops pairing mode
  assert.equal(three.conn.isEnded, false);
  proc.write('quit\n');
  const exit = await proc.exited;
  assert.equal(exit.code, 0);
  assert.match(proc.stdout, /Pairing mode stopped\./);
});
