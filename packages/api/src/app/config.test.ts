import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseApiConfig } from './config.js';

const BASE = 'cert = /c\nkey = /k\nca = /a\n';

test('api_port = 0 is accepted (any free port); other values as core parses them', () => {
  assert.equal(parseApiConfig(`${BASE}api_port = 0\n`, '/x.conf').config.apiPort, 0);
  assert.equal(parseApiConfig(`${BASE}api_port = 000\n`, '/x.conf').config.apiPort, 0);
  assert.equal(parseApiConfig(`${BASE}api_port = 8000\n`, '/x.conf').config.apiPort, 8000);
  assert.equal(parseApiConfig(BASE, '/x.conf').config.apiPort, 7445);
  // The last setting wins, as everywhere in ctrl-exec.conf.
  assert.equal(parseApiConfig(`${BASE}api_port = 0\napi_port = 9000\n`, '/x.conf').config.apiPort, 9000);
  assert.equal(parseApiConfig(`${BASE}api_port = 9000\napi_port = 0\n`, '/x.conf').config.apiPort, 0);
  // An indented line is ignored (upstream), so it cannot set 0 either.
  assert.equal(parseApiConfig(`${BASE}  api_port = 0\n`, '/x.conf').config.apiPort, 7445);
});

test('bad values are still configuration errors with the right line', () => {
  assert.throws(() => parseApiConfig(`${BASE}api_port = 70000\n`, '/x.conf'), (err: unknown) => {
    assert.equal((err as { code?: string }).code, 'CE_ERR_CONFIG_VALUE');
    assert.equal((err as { line?: number }).line, 4);
    return true;
  });
  assert.throws(() => parseApiConfig(`${BASE}api_port = -1\n`, '/x.conf'), { code: 'CE_ERR_CONFIG_VALUE' });
  assert.throws(() => parseApiConfig('api_port = 0\n', '/x.conf'), { code: 'CE_ERR_CONFIG_MISSING' });
  // A bad value elsewhere keeps its own line number when api_port is patched.
  assert.throws(() => parseApiConfig(`${BASE}api_port = 0\napi_max_children = x\n`, '/x.conf'), (err: unknown) => {
    assert.equal((err as { line?: number }).line, 5);
    return true;
  });
});
