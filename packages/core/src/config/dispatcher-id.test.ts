import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sanitiseDispatcherId } from './dispatcher-id.js';

test('the configured id wins over the host name and keeps allowed characters', () => {
  assert.equal(sanitiseDispatcherId('dispatcher01.example.com', 'host'), 'dispatcher01.example.com');
  assert.equal(sanitiseDispatcherId('ctrl_exec-DR', 'host'), 'ctrl_exec-DR');
});

test('falls back to the host name when no id is configured', () => {
  assert.equal(sanitiseDispatcherId(undefined, 'box.local'), 'box.local');
  assert.equal(sanitiseDispatcherId('', 'box.local'), 'box.local');
});

test('other characters become -, leading non-alphanumerics are removed', () => {
  assert.equal(sanitiseDispatcherId('my dispatcher/1', 'h'), 'my-dispatcher-1');
  assert.equal(sanitiseDispatcherId('..-_x', 'h'), 'x');
  assert.equal(sanitiseDispatcherId(' #x', 'h'), 'x');
  // one '-' per UTF-8 byte, as upstream reads bytes
  assert.equal(sanitiseDispatcherId('caf\u00e9', 'h'), 'caf--');
});

test('truncated to 64 characters', () => {
  assert.equal(sanitiseDispatcherId('a'.repeat(100), 'h'), 'a'.repeat(64));
  assert.equal(sanitiseDispatcherId(`--${'b'.repeat(70)}`, 'h'), 'b'.repeat(64));
});

test('nothing usable left gives "dispatcher"', () => {
  assert.equal(sanitiseDispatcherId('---', 'h'), 'dispatcher');
  assert.equal(sanitiseDispatcherId(undefined, ''), 'dispatcher');
  assert.equal(sanitiseDispatcherId('\u00e9\u00e9', 'h'), 'dispatcher');
});
