/**
 * Request bodies. Upstream reads every body as JSON whatever its Content-Type (so
 * `curl -d '{...}'`, which says form-urlencoded, works), and decides what a bad body means
 * per route, after the pre-route auth gate. So the parser never fails: it records what it
 * found, and the routes turn `empty`/`invalid` into their own answers.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Upstream's limit, and fastify's default. */
export const BODY_LIMIT = 1_048_576;

export type BodyKind = 'none' | 'empty' | 'json' | 'invalid';

export interface BodyInfo {
  kind: BodyKind;
  bytes: number;
}

const bodies = new WeakMap<object, BodyInfo>();

/** What the request carried (`none` when no body was sent or parsed, e.g. GET). */
export function bodyInfo(request: FastifyRequest): BodyInfo {
  return bodies.get(request.raw) ?? { kind: 'none', bytes: 0 };
}

/** The body as a JSON object, or undefined (absent, not JSON, or not an object). */
export function bodyObject(request: FastifyRequest): Record<string, unknown> | undefined {
  const body: unknown = request.body;
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
}

/** JSON.parse without `__proto__` keys (they would only ever be an attack). */
export function parseJsonText(text: string): unknown {
  return JSON.parse(text, (key, value: unknown) => (key === '__proto__' ? undefined : value));
}

export function installBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (request, raw, done) => {
    const buf = raw as Buffer;
    const text = buf.toString('utf8');
    if (text.trim() === '') {
      bodies.set(request.raw, { kind: 'empty', bytes: buf.length });
      done(null, undefined);
      return;
    }
    let value: unknown;
    try {
      value = parseJsonText(text);
    } catch {
      bodies.set(request.raw, { kind: 'invalid', bytes: buf.length });
      done(null, undefined);
      return;
    }
    bodies.set(request.raw, { kind: 'json', bytes: buf.length });
    done(null, value);
  });
}
