/**
 * The committed openapi.json: a valid OpenAPI 3.1 document, identical to what the route
 * schemas generate (a drift fails here: run `npm run openapi -w @ctrl-exec/api`), and the
 * live document's additions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { validate } from '@readme/openapi-parser';
import type { HostResult } from '@ctrl-exec/dispatcher';
import { VERSION } from '@ctrl-exec/core';
import { buildApiServer } from '../app/build.js';
import { INDEX_ENDPOINTS } from '../routes/index.js';
import { makeApiEnv } from '../testing/fixtures.js';
import { STATIC_OPENAPI_PATH } from './document.js';
import { generateOpenApiDocument, openApiText } from './generate.js';
import { liveDocument, liveVersion, scriptsByVersion } from './live.js';

type Doc = {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, { operationId?: string; tags?: string[]; responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>; requestBody?: { required: boolean } }>>;
  components: { schemas: Record<string, { properties?: Record<string, { items?: Record<string, unknown>; enum?: unknown[] }> }> };
};

function committed(): Doc {
  return JSON.parse(readFileSync(STATIC_OPENAPI_PATH, 'utf8')) as Doc;
}

test('openapi.json is a valid OpenAPI 3.1 document (and the validator does catch a broken one)', async () => {
  const doc = committed();
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(doc.info.version, VERSION);
  const result = await validate(structuredClone(doc) as never);
  assert.deepEqual({ valid: result.valid, specification: result.specification }, { valid: true, specification: 'OpenAPI' });

  const broken = structuredClone(doc) as unknown as Record<string, Record<string, unknown>>;
  broken.paths!['/run'] = { post: { responses: { 200: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Nope' } } } } } } };
  const bad = await validate(broken as never).catch((err: unknown) => ({ valid: false, err }));
  assert.equal(bad.valid, false);
});

test('openapi.json matches the routes exactly (regenerate with npm run openapi -w @ctrl-exec/api)', async () => {
  const generated = await generateOpenApiDocument();
  assert.deepEqual(committed(), generated);
  assert.equal(readFileSync(STATIC_OPENAPI_PATH, 'utf8'), openApiText(generated));
});

test('the running server documents the same routes as the committed file, and serves every documented one', async (t) => {
  const env = await makeApiEnv(t);
  const app = await buildApiServer({ config: env.config(), processMetrics: false });
  env.own(() => app.close());
  await app.ready();
  assert.deepEqual(JSON.parse(JSON.stringify(app.swagger())), committed());
  const doc = committed();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const method of Object.keys(methods)) {
      assert.ok(app.hasRoute({ method: method.toUpperCase() as 'GET', url: path.replace(/\{(\w+)\}/g, ':$1') }), `${method} ${path}`);
    }
  }
});

test('every operation: operationId, tags, a success answer, errors as ErrorResponse; upstream\'s endpoints all there', () => {
  const doc = committed();
  const paths = Object.keys(doc.paths).sort();
  assert.deepEqual(paths, ['/', '/discovery', '/health', '/metrics', '/openapi-live.json', '/openapi.json', '/ping', '/run', '/scans', '/scans/{id}', '/scans/{id}/sarif', '/status/{reqid}', '/status/{reqid}/cancel']);
  for (const e of INDEX_ENDPOINTS) assert.ok(doc.paths[e.path]?.[e.method.toLowerCase()], `${e.method} ${e.path}`);
  const ids = new Set<string>();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const where = `${method} ${path}`;
      assert.ok(op.operationId && !ids.has(op.operationId), where);
      ids.add(op.operationId);
      assert.ok(op.tags && op.tags.length > 0, where);
      assert.ok(op.responses['200'] ?? op.responses['202'], where);
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        assert.equal(response.content?.['application/json']?.schema.$ref, '#/components/schemas/ErrorResponse', `${where} ${status}`);
      }
    }
  }
  assert.equal(doc.paths['/discovery']?.post?.requestBody?.required, false);
  assert.equal(doc.paths['/run']?.post?.requestBody?.required, true);
  assert.ok(doc.paths['/run']?.post?.responses['409']);
  assert.ok(doc.paths['/run']?.post?.responses['413']);
});

const HOST_RESULTS: HostResult[] = [
  {
    host: 'web-1',
    rtt: '3ms',
    status: 'ok',
    scripts: [
      { name: 'backup', schema_version: '2', schema: { args: ['x'] } },
      { name: 'deploy' },
    ],
  },
  { host: 'web-2', rtt: '4ms', status: 'ok', scripts: [{ name: 'backup', schema_version: '1', schema: { args: [] } }, { name: 'deploy' }, { bogus: true }, 'x'] },
  { host: 'web-3', rtt: '5ms', status: 'ok', scripts: [{ name: 'backup', schema_version: '2' }] },
  { host: 'down', rtt: '9ms', status: 'error', error: 'connection refused', scripts: [{ name: 'never' }] },
];

test('x-ctrl-exec-scripts groups hosts per script by schema version; failed hosts and junk are skipped', () => {
  assert.deepEqual(scriptsByVersion(HOST_RESULTS), {
    backup: [
      { hosts: ['web-1', 'web-3'], schema_version: '2', schema: { args: ['x'] } },
      { hosts: ['web-2'], schema_version: '1', schema: { args: [] } },
    ],
    deploy: [{ hosts: ['web-1', 'web-2'] }],
  });
});

test('liveVersion: <base>+<epoch>, an earlier stamp replaced', () => {
  assert.equal(liveVersion('0.1.0', 1700000000), '0.1.0+1700000000');
  assert.equal(liveVersion('0.1.0+1600000000', 1700000000), '0.1.0+1700000000');
  assert.equal(liveVersion(undefined, 5), '+5');
});

test('liveDocument: enums on hosts and script, the base left untouched; nothing registered adds no empty enum', () => {
  const base = committed() as unknown as Record<string, unknown>;
  const before = JSON.stringify(base);
  const live = liveDocument(base, { hosts: ['web-2', 'web-1', 'down', 'web-3'], results: HOST_RESULTS, epochSeconds: 1234 }) as unknown as Doc & Record<string, unknown>;
  assert.equal(JSON.stringify(base), before, 'the base document is not changed');
  for (const schema of ['PingRequest', 'RunRequest', 'DiscoveryRequest']) {
    assert.deepEqual(live.components.schemas[schema]?.properties?.hosts?.items?.enum, ['down', 'web-1', 'web-2', 'web-3']);
    assert.equal(live.components.schemas[schema]?.properties?.hosts?.items?.type, 'string');
  }
  assert.deepEqual(live.components.schemas.RunRequest?.properties?.script?.enum, ['backup', 'deploy']);
  assert.equal(live.info.version, `${VERSION}+1234`);
  assert.ok(live['x-ctrl-exec-scripts']);

  const empty = liveDocument(base, { hosts: [], results: [], epochSeconds: 1 }) as unknown as Doc & Record<string, unknown>;
  assert.equal(empty.components.schemas.PingRequest?.properties?.hosts?.items?.enum, undefined);
  assert.equal(empty.components.schemas.RunRequest?.properties?.script?.enum, undefined);
  assert.deepEqual(empty['x-ctrl-exec-scripts'], {});
});
