import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { DEFAULT_SCRIPTS_CONFIG_PATH } from './paths.js';
import {
  checkScriptPath,
  isUnderScriptDirs,
  isValidScriptName,
  loadScriptsConfig,
  parseScriptsConfig,
} from './scripts-config.js';

const FILE = '/etc/ctrl-exec-agent/scripts.conf';

interface Layout {
  root: string;
  scripts: string;
  outside: string;
}

/** root/scripts/ok.sh, root/outside/evil.sh (real paths, so /tmp symlinks do not matter). */
function layout(t: { after: (fn: () => void) => void }): Layout {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'ce-scripts-')));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const scripts = join(root, 'scripts');
  const outside = join(root, 'outside');
  mkdirSync(scripts);
  mkdirSync(outside);
  writeFileSync(join(scripts, 'ok.sh'), '#!/bin/sh\n', { mode: 0o755 });
  writeFileSync(join(outside, 'evil.sh'), '#!/bin/sh\n', { mode: 0o755 });
  return { root, scripts, outside };
}

test('the default location is /etc/ctrl-exec-agent/scripts.conf', () => {
  assert.equal(DEFAULT_SCRIPTS_CONFIG_PATH, '/etc/ctrl-exec-agent/scripts.conf');
});

test('entries parse with the default profile; comments and blank lines skipped', () => {
  const text = '# allowlist\n\n  # indented comment\ncheck-disk = /opt/s/check-disk.sh\n  uptime=/usr/bin/uptime  \n';
  const { scripts, warnings } = parseScriptsConfig(text, FILE);
  assert.deepEqual(warnings, []);
  assert.deepEqual([...scripts.keys()], ['check-disk', 'uptime']);
  assert.deepEqual(scripts.get('check-disk'), {
    name: 'check-disk',
    path: '/opt/s/check-disk.sh',
    profile: 'default',
    annotations: {},
    file: FILE,
    line: 4,
  });
  assert.equal(scripts.get('uptime')?.path, '/usr/bin/uptime');
  assert.equal(scripts.get('uptime')?.line, 5);
});

test('profile= may come before or after the path', () => {
  const { scripts } = parseScriptsConfig('a = /opt/s/a.sh profile=cert-deploy\nb = profile=web.v2 /opt/s/b.sh\n', FILE);
  assert.equal(scripts.get('a')?.profile, 'cert-deploy');
  assert.equal(scripts.get('a')?.path, '/opt/s/a.sh');
  assert.equal(scripts.get('b')?.profile, 'web.v2');
  assert.equal(scripts.get('b')?.path, '/opt/s/b.sh');
});

test('timeout= and max_output= annotations (K = 1024, M = 1048576)', () => {
  const { scripts, warnings } = parseScriptsConfig(
    'a = /s/a timeout=30 max_output=512K\nb = max_output=2M /s/b\nc = /s/c max_output=1000 timeout=1\n',
    FILE,
  );
  assert.deepEqual(warnings, []);
  assert.equal(scripts.get('a')?.timeoutSec, 30);
  assert.equal(scripts.get('a')?.maxOutputBytes, 512 * 1024);
  assert.equal(scripts.get('b')?.maxOutputBytes, 2 * 1024 * 1024);
  assert.equal(scripts.get('b')?.timeoutSec, undefined);
  assert.equal(scripts.get('c')?.maxOutputBytes, 1000);
  assert.equal(scripts.get('c')?.timeoutSec, 1);
  assert.deepEqual(scripts.get('a')?.annotations, { timeout: '30', max_output: '512K' });
});

for (const [label, value] of [
  ['timeout=0', '/s/x timeout=0'],
  ['timeout=abc', '/s/x timeout=abc'],
  ['timeout=-5', '/s/x timeout=-5'],
  ['an empty timeout', '/s/x timeout='],
  ['max_output=0', '/s/x max_output=0'],
  ['max_output=1G', '/s/x max_output=1G'],
  ['max_output=lots', '/s/x max_output=lots'],
  ['an empty profile', '/s/x profile='],
  ['a profile with a slash', '/s/x profile=a/b'],
] as const) {
  test(`an entry with ${label} is skipped with a located warning`, () => {
    const { scripts, warnings } = parseScriptsConfig(`ok = /s/ok\nx = ${value}\n`, FILE);
    assert.deepEqual([...scripts.keys()], ['ok']);
    assert.deepEqual(warnings.map((w) => [w.file, w.line, w.entry]), [[FILE, 2, 'x']]);
  });
}

for (const [label, value] of [
  ['two paths', '/s/a.sh /s/b.sh'],
  ['no path', 'profile=web'],
  ['a relative path', 'scripts/a.sh'],
  ['a relative path with annotations', 'profile=web ./a.sh'],
] as const) {
  test(`an entry with ${label} is skipped with a located warning`, () => {
    const { scripts, warnings } = parseScriptsConfig(`x = ${value}\n`, FILE);
    assert.equal(scripts.size, 0);
    assert.deepEqual(warnings.map((w) => [w.file, w.line, w.entry]), [[FILE, 1, 'x']]);
  });
}

test('malformed lines are skipped with a warning naming file and line', () => {
  const { scripts, warnings } = parseScriptsConfig('bad name = /s/a\nnoequals\nx.y = /s/b\nz =\nok = /s/ok\n', FILE);
  assert.deepEqual([...scripts.keys()], ['ok']);
  assert.deepEqual(warnings.map((w) => [w.file, w.line, w.entry]), [
    [FILE, 1, undefined],
    [FILE, 2, undefined],
    [FILE, 3, undefined],
    [FILE, 4, undefined],
  ]);
});

test('unknown annotations are kept but warned about', () => {
  const { scripts, warnings } = parseScriptsConfig('a = /s/a schema=/s/a.json\n', FILE);
  assert.equal(scripts.get('a')?.annotations.schema, '/s/a.json');
  assert.deepEqual(warnings.map((w) => w.entry), ['a']);
});

test('later duplicates replace earlier ones; a skipped duplicate keeps the earlier entry', () => {
  const { scripts, warnings } = parseScriptsConfig('a = /s/one\na = /s/two profile=p\nb = /s/b\nb = relative\n', FILE);
  assert.equal(scripts.get('a')?.path, '/s/two');
  assert.equal(scripts.get('a')?.profile, 'p');
  assert.equal(scripts.get('a')?.line, 2);
  assert.equal(scripts.get('b')?.path, '/s/b');
  assert.deepEqual(warnings.map((w) => [w.line, w.entry]), [[2, 'a'], [4, 'b']]);
});

test('script_dirs: paths inside are accepted, outside skipped', (t) => {
  const l = layout(t);
  const text = `ok = ${l.scripts}/ok.sh\nmissing = ${l.scripts}/not-yet.sh\nevil = ${l.outside}/evil.sh\n`;
  const { scripts, warnings } = parseScriptsConfig(text, FILE, { scriptDirs: [l.scripts] });
  assert.deepEqual([...scripts.keys()], ['ok', 'missing']);
  assert.deepEqual(warnings.map((w) => [w.line, w.entry]), [[3, 'evil']]);
});

test('script_dirs: escaping with .. is skipped, whether the target exists or not', (t) => {
  const l = layout(t);
  const text = `a = ${l.scripts}/../outside/evil.sh\nb = ${l.scripts}/../outside/none.sh\nc = ${l.scripts}/sub/../ok.sh\n`;
  const { scripts, warnings } = parseScriptsConfig(text, FILE, { scriptDirs: [l.scripts] });
  assert.deepEqual([...scripts.keys()], ['c']);
  assert.deepEqual(warnings.map((w) => w.entry), ['a', 'b']);
});

test('script_dirs: a symlink inside pointing outside is skipped (realpath)', (t) => {
  const l = layout(t);
  symlinkSync(join(l.outside, 'evil.sh'), join(l.scripts, 'link.sh'));
  symlinkSync(join(l.scripts, 'ok.sh'), join(l.scripts, 'good-link.sh'));
  symlinkSync(l.outside, join(l.scripts, 'dirlink'));
  const text = `link = ${l.scripts}/link.sh\ngood = ${l.scripts}/good-link.sh\nviadir = ${l.scripts}/dirlink/not-there.sh\n`;
  const { scripts, warnings } = parseScriptsConfig(text, FILE, { scriptDirs: [l.scripts] });
  assert.deepEqual([...scripts.keys()], ['good']);
  assert.deepEqual(warnings.map((w) => w.entry), ['link', 'viadir']);
});

test('script_dirs: a directory named with a symlink still matches its real contents', (t) => {
  const l = layout(t);
  const alias = join(l.root, 'alias');
  symlinkSync(l.scripts, alias);
  const { scripts } = parseScriptsConfig(`ok = ${alias}/ok.sh\n`, FILE, { scriptDirs: [alias] });
  assert.deepEqual([...scripts.keys()], ['ok']);
});

test('script_dirs: a sibling directory sharing the prefix is outside', (t) => {
  const l = layout(t);
  mkdirSync(`${l.scripts}-evil`);
  writeFileSync(`${l.scripts}-evil/x.sh`, '');
  const { scripts } = parseScriptsConfig(`x = ${l.scripts}-evil/x.sh\n`, FILE, { scriptDirs: [l.scripts] });
  assert.equal(scripts.size, 0);
});

test('script_dirs: unset means no restriction, an empty list refuses everything', () => {
  assert.equal(parseScriptsConfig('a = /anywhere/a\n', FILE).scripts.size, 1);
  assert.equal(parseScriptsConfig('a = /anywhere/a\n', FILE, { scriptDirs: [] }).scripts.size, 0);
});

test('script names: letters, digits, _ and - only', () => {
  for (const ok of ['a', 'check-disk', 'x_1', 'ABC']) assert.equal(isValidScriptName(ok), true, ok);
  for (const bad of ['', 'a b', 'a.b', '../x', 'a/b', 'caf\u00e9', 'a\n']) assert.equal(isValidScriptName(bad), false, bad);
});

test('isUnderScriptDirs compares whole path components', () => {
  assert.equal(isUnderScriptDirs('/opt/s/a.sh', ['/opt/s']), true);
  assert.equal(isUnderScriptDirs('/opt/s/a.sh', ['/opt/s/']), true);
  assert.equal(isUnderScriptDirs('/opt/s/sub/a.sh', ['/x', '/opt/s']), true);
  assert.equal(isUnderScriptDirs('/opt/scripts/a.sh', ['/opt/s']), false);
  assert.equal(isUnderScriptDirs('/opt/s', ['/opt/s']), false);
  assert.equal(isUnderScriptDirs('/opt/s/a.sh', []), false);
  assert.equal(isUnderScriptDirs('/any/a.sh', ['/']), true);
});

test('checkScriptPath gives the resolved path, or the reason it is refused', (t) => {
  const l = layout(t);
  assert.deepEqual(checkScriptPath(`${l.scripts}/ok.sh`, [l.scripts]), { ok: true, realPath: `${l.scripts}/ok.sh` });
  assert.equal(checkScriptPath('rel.sh', undefined).ok, false);
  assert.equal(checkScriptPath(`${l.outside}/evil.sh`, [l.scripts]).ok, false);
  symlinkSync('loop', join(l.scripts, 'loop'));
  assert.equal(checkScriptPath(`${l.scripts}/loop`, [l.scripts]).ok, false);
});

test('load: reads the file; a missing file is CE_ERR_CONFIG_MISSING', (t) => {
  const l = layout(t);
  const file = join(l.root, 'scripts.conf');
  writeFileSync(file, `ok = ${l.scripts}/ok.sh\n`);
  const { scripts } = loadScriptsConfig(file, { scriptDirs: [l.scripts] });
  assert.equal(scripts.get('ok')?.file, file);
  assert.throws(() => loadScriptsConfig(join(l.root, 'none.conf')), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'CE_ERR_CONFIG_MISSING');
    return true;
  });
});
