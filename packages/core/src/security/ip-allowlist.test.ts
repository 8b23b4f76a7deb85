import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllowedIps, type IpAllowlist } from './ip-allowlist.js';

function list(raw: string): IpAllowlist {
  const r = parseAllowedIps(raw);
  assert.deepEqual(r.warnings, []);
  assert.ok(r.list);
  return r.list;
}

test('upstream forms keep their meaning: exact IPv4 and /8 /16 /24', () => {
  const l = list(' 192.168.1.10 , 10.0.0.0/8,172.16.0.0/16, 192.0.2.0/24 ');
  assert.equal(l.size, 4);
  for (const ok of ['192.168.1.10', '10.255.3.4', '172.16.200.1', '192.0.2.255']) assert.equal(l.allows(ok), true, ok);
  for (const no of ['192.168.1.11', '11.0.0.1', '172.17.0.1', '192.0.3.1', '127.0.0.1']) assert.equal(l.allows(no), false, no);
});

test('leading zeros in octets are decimal, not octal', () => {
  const l = list('010.001.000.010');
  assert.deepEqual(l.entries, ['10.1.0.10']);
  assert.equal(l.allows('10.1.0.10'), true);
  assert.equal(l.allows('8.1.0.8'), false);
});

test('any prefix length: IPv4 /20 and /32, /0', () => {
  const l = list('10.1.16.0/20, 192.0.2.7/32');
  assert.equal(l.allows('10.1.16.1'), true);
  assert.equal(l.allows('10.1.31.254'), true);
  assert.equal(l.allows('10.1.32.0'), false);
  assert.equal(l.allows('10.1.15.255'), false);
  assert.equal(l.allows('192.0.2.7'), true);
  assert.equal(l.allows('192.0.2.8'), false);
  // Host bits in a range are ignored, as in every CIDR reading.
  assert.equal(list('10.1.17.99/20').allows('10.1.16.0'), true);
  const all = list('0.0.0.0/0');
  assert.equal(all.allows('203.0.113.9'), true);
  assert.equal(all.allows('::ffff:203.0.113.9'), true);
  assert.equal(all.allows('2001:db8::1'), false, 'an IPv4 range never covers a native IPv6 peer');
});

test('IPv6 addresses and ranges, including /64', () => {
  const l = list('2001:db8:1:2::/64, fe80::1, ::1');
  assert.equal(l.allows('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), true);
  assert.equal(l.allows('2001:DB8:1:2::5'), true);
  assert.equal(l.allows('2001:db8:1:3::5'), false);
  assert.equal(l.allows('fe80::1'), true);
  assert.equal(l.allows('fe80:0:0:0:0:0:0:1'), true);
  assert.equal(l.allows('fe80::1%eth0'), true, 'zone id on the peer is ignored');
  assert.equal(l.allows('fe80::2'), false);
  assert.equal(l.allows('::1'), true);
  assert.equal(l.allows('127.0.0.1'), false);
  assert.deepEqual(l.entries, ['2001:db8:1:2::/64', 'fe80::1', '::1']);
});

test('IPv4-mapped IPv6 peers and entries match their IPv4 counterparts', () => {
  const l = list('10.0.0.0/8');
  assert.equal(l.allows('::ffff:10.0.0.1'), true);
  assert.equal(l.allows('::FFFF:10.200.0.1'), true);
  assert.equal(l.allows('::ffff:a00:1'), true);
  assert.equal(l.allows('::ffff:11.0.0.1'), false);
  const mappedEntry = list('::ffff:192.0.2.0/120');
  assert.deepEqual(mappedEntry.entries, ['192.0.2.0/24']);
  assert.equal(mappedEntry.allows('192.0.2.9'), true);
  assert.equal(mappedEntry.allows('::ffff:192.0.2.9'), true);
  assert.equal(mappedEntry.allows('192.0.3.9'), false);
  // A wide IPv6 range that contains the mapped space covers IPv4 peers too.
  const wide = list('::/0');
  assert.equal(wide.allows('127.0.0.1'), true);
  assert.equal(wide.allows('2001:db8::1'), true);
});

test('invalid entries are reported and skipped', () => {
  const r = parseAllowedIps('10.0.0.1, 256.1.1.1, 10.0.0.0/33, 10.0.0.0/abc, 2001:db8::/129, host.example, 10.0.0, 10.0.0.0/, /8, 1.2.3.4.5, 0x0a.0.0.1, 10.1, fe80::1%eth0, ::1/-1, ,10.0.0.0/08, 10.0.0.0/1000');
  assert.ok(r.list);
  assert.deepEqual(r.list.entries, ['10.0.0.1', '10.0.0.0/8']);
  assert.deepEqual(r.warnings, [
    { entry: '256.1.1.1', message: 'malformed IP address' },
    { entry: '10.0.0.0/33', message: 'invalid prefix length' },
    { entry: '10.0.0.0/abc', message: 'invalid prefix length' },
    { entry: '2001:db8::/129', message: 'invalid prefix length' },
    { entry: 'host.example', message: 'malformed IP address' },
    { entry: '10.0.0', message: 'malformed IP address' },
    { entry: '10.0.0.0/', message: 'invalid prefix length' },
    { entry: '/8', message: 'malformed IP address' },
    { entry: '1.2.3.4.5', message: 'malformed IP address' },
    { entry: '0x0a.0.0.1', message: 'malformed IP address' },
    { entry: '10.1', message: 'malformed IP address' },
    { entry: 'fe80::1%eth0', message: 'malformed IP address' },
    { entry: '::1/-1', message: 'invalid prefix length' },
    { entry: '10.0.0.0/1000', message: 'invalid prefix length' },
  ]);
});

test('no valid entry (or nothing configured) disables the restriction', () => {
  assert.deepEqual(parseAllowedIps(undefined), { list: undefined, warnings: [] });
  assert.deepEqual(parseAllowedIps(''), { list: undefined, warnings: [] });
  assert.deepEqual(parseAllowedIps(' , ,'), { list: undefined, warnings: [] });
  const r = parseAllowedIps('nonsense, 300.0.0.1');
  assert.equal(r.list, undefined);
  assert.equal(r.warnings.length, 2);
});

test('garbage peers are refused, never thrown', () => {
  const l = list('0.0.0.0/0, ::/0');
  const garbage: unknown[] = ['', ' ', 'localhost', '10.0.0.1 ', '10.0.0.1\n', '::ffff:', ':::', '1.2.3', '999.1.1.1', '10.0.0.1/8', 'a'.repeat(10_000), '%', '%eth0', '0x7f.0.0.1', '2130706433', undefined, null, 42, {}, ['10.0.0.1']];
  for (const peer of garbage) assert.equal(l.allows(peer as string), false, JSON.stringify(peer)?.slice(0, 40));
});
