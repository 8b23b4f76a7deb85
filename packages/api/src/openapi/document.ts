/**
 * The OpenAPI 3.1 document: produced by @fastify/swagger from the route schemas, committed
 * as packages/api/openapi.json (regenerate: `npm run openapi -w @ctrl-exec/api`) and
 * served verbatim by `GET /openapi.json`. A test fails when the routes drift from it.
 */
import { fileURLToPath } from 'node:url';
import type { SwaggerOptions } from '@fastify/swagger';
import { VERSION } from '@ctrl-exec/core';

/** packages/api/openapi.json (this file is packages/api/{src,dist}/openapi/document.*). */
export const STATIC_OPENAPI_PATH = fileURLToPath(new URL('../../openapi.json', import.meta.url));

export const API_DESCRIPTION = [
  'HTTP API of ctrl-exec: run allowlisted scripts on paired agents over mutual TLS, ping them, discover what they offer, and follow runs.',
  '',
  '**Authentication.** Every request except `GET /health` and `GET /metrics` first passes the auth hook with action `api` ' +
    '(token: the `token` field of a JSON object body, else empty); then `/run` asks action `run`, `/ping` and `/discovery` action `ping`, ' +
    'and `/status/{reqid}` action `status` with the `Authorization: Bearer` token. Without a hook, `api_auth_default` decides (deny by default: ' +
    '403 `{"ok":false,"error":"no auth hook configured","code":1}`). A denial is 403 `{"ok":false,"error":<reason>,"code":<hook exit>}`, ' +
    'or `{"ok":false,"error":"forbidden"}` with `auth_deny_generic`.',
  '',
  '**Open endpoints.** `GET /health` and `GET /metrics` need no authentication. This differs from upstream ctrl-exec 0.12.3, ' +
    'which runs the `api` gate on `/health` too.',
  '',
  '**Errors.** Every error is a JSON object `{"ok":false,"error":<class>,"detail"?:<text>}`; read the body, not only the status. ' +
    'Limits on every request: more than 32 header lines 431, a body over 1048576 bytes 413, more than `api_max_children` requests in flight 503.',
].join('\n');

export const API_TAGS = [
  { name: 'runs', description: 'Run scripts and follow runs' },
  { name: 'agents', description: 'Ping agents and discover their scripts' },
  { name: 'scans', description: 'Security scans on agents, findings and SARIF (not in upstream)' },
  { name: 'meta', description: 'Index, health, documents and metrics' },
];

/** Operations whose body may be left out (@fastify/swagger marks every body required). */
export const OPTIONAL_BODIES: ReadonlyArray<readonly [path: string, method: string]> = [['/discovery', 'post'], ['/status/{reqid}/cancel', 'post']];

function optionalBodies(doc: Record<string, unknown>): void {
  const paths = doc.paths as Record<string, Record<string, { requestBody?: { required?: boolean } }>> | undefined;
  for (const [path, method] of OPTIONAL_BODIES) {
    const body = paths?.[path]?.[method]?.requestBody;
    if (body) body.required = false;
  }
}

export function swaggerOptions(): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'ctrl-exec API',
        version: VERSION,
        description: API_DESCRIPTION,
        license: { name: 'AGPL-3.0-or-later', identifier: 'AGPL-3.0-or-later' },
      },
      tags: API_TAGS,
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'Token for the `status` hook action of `GET /status/{reqid}`',
          },
        },
      },
    },
    transformObject(documentObject) {
      const doc = 'openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject;
      optionalBodies(doc as Record<string, unknown>);
      return doc;
    },
    refResolver: {
      buildLocalReference(json, _baseUri, _fragment, i) {
        return typeof json.$id === 'string' ? json.$id : `def-${i}`;
      },
    },
  };
}
