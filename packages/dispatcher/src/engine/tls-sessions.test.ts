import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentClient } from './agent-client.js';
import { FileTlsSessionStore } from './tls-sessions.js';
import { startFakeAgent } from './testing/fake-agent.js';
import { sharedPki } from './testing/fixtures.js';

function tempDir(t: { after(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ce-tls-sessions-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the session file: 0600, bound to one identity, expired and malformed entries ignored', (t) => {
  const file = join(tempDir(t), 'tls-sessions.json');
  let now = 1_000_000;
  const store = (identity = 'id-a') => new FileTlsSessionStore(file, { identity, maxAgeMs: 60_000, now: () => now });

  const a = store();
  assert.equal(a.get('127.0.0.1:7443'), undefined, 'no file: nothing to resume');
  a.save();
  assert.equal(existsSync(file), false, 'nothing changed: nothing written');
  a.set('127.0.0.1:7443', Buffer.from('session-one'));
  a.set('127.0.0.2:7443', Buffer.alloc(0));
  a.set('127.0.0.3:7443', Buffer.alloc(70 * 1024));
  a.save();
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(Object.keys(JSON.parse(readFileSync(file, 'utf8')).sessions), ['127.0.0.1:7443'], 'empty and oversized sessions are not kept');

  assert.equal(store().get('127.0.0.1:7443')?.toString(), 'session-one');
  assert.equal(store('id-b').get('127.0.0.1:7443'), undefined, 'another dispatcher certificate: nothing resumes');

  now += 61_000;
  assert.equal(store().get('127.0.0.1:7443'), undefined, 'older than maxAge');

  for (const junk of ['not json', '[]', '{"version":2,"identity":"id-a","sessions":{}}', '{"version":1,"identity":"id-a","sessions":{"h:1":{"t":"x","s":1}}}']) {
    writeFileSync(file, junk);
    const s = store();
    assert.equal(s.get('h:1'), undefined, junk);
    s.set('h:1', Buffer.from('fresh'));
    s.save();
    assert.equal(store().get('h:1')?.toString(), 'fresh', `a malformed file (${junk}) is replaced`);
  }
});

test('the session file: processes saving at once keep each other\'s entries; deletes are saved; unwritable is harmless', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'tls-sessions.json');
  const first = new FileTlsSessionStore(file, { identity: 'id' });
  const second = new FileTlsSessionStore(file, { identity: 'id' });
  first.set('a:1', Buffer.from('A'));
  second.set('b:1', Buffer.from('B'));
  assert.equal(second.get('a:1'), undefined);
  first.save();
  second.save();
  const after = new FileTlsSessionStore(file, { identity: 'id' });
  assert.equal(after.get('a:1')?.toString(), 'A');
  assert.equal(after.get('b:1')?.toString(), 'B');
  after.delete('a:1');
  after.save();
  assert.equal(new FileTlsSessionStore(file, { identity: 'id' }).get('a:1'), undefined);

  if (process.getuid?.() !== 0) {
    chmodSync(dir, 0o500);
    t.after(() => chmodSync(dir, 0o700));
    const ro = new FileTlsSessionStore(file, { identity: 'id' });
    ro.set('c:1', Buffer.from('C'));
    assert.doesNotThrow(() => ro.save());
  }
  const missing = new FileTlsSessionStore(join(dir, 'no', 'such', 'dir', 'f.json'), { identity: 'id' });
  missing.set('c:1', Buffer.from('C'));
  assert.doesNotThrow(() => missing.save());
});

test('AgentClient with a session file: the next client resumes the TLS session; another certificate or keepAlive off does not', async (t) => {
  const pki = await sharedPki();
  const { key, cert } = await pki.issue('agent');
  const agent = await startFakeAgent({ key, cert, ca: pki.ca.certPem, scripts: {} });
  t.after(() => agent.close());
  const sessionFile = join(tempDir(t), 'tls-sessions.json');
  const target = { name: 'h1', address: '127.0.0.1', port: agent.port };
  const material = { cert: readFileSync(pki.certPath), key: readFileSync(pki.keyPath), ca: readFileSync(pki.caCertPath) };
  const once = async (options: Partial<ConstructorParameters<typeof AgentClient>[0]>) => {
    const c = new AgentClient({ ...material, readTimeout: 5, sessionFile, ...options });
    try {
      assert.equal((await c.call(target, 'POST', '/ping', { reqid: 'ab' })).status, 200);
    } finally {
      c.close();
    }
  };

  await once({});
  assert.equal(agent.resumed(), 0);
  assert.equal(statSync(sessionFile).mode & 0o777, 0o600);
  await once({});
  assert.equal(agent.connections(), 2);
  assert.equal(agent.resumed(), 1, 'a new client (a new CLI process) resumed the saved session');

  const other = await pki.issue('other-dispatcher');
  await once({ cert: other.cert, key: other.key });
  assert.equal(agent.connections(), 3);
  assert.equal(agent.resumed(), 1, 'sessions of another dispatcher certificate are not offered');

  rmSync(sessionFile);
  await once({ keepAlive: false });
  assert.equal(existsSync(sessionFile), false, 'agent_keepalive = 0: no session file');
});
