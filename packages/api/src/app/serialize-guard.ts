/**
 * Responses are serialized from their schemas (fast-json-stringify), which is fast but
 * throws on a value of the wrong type. Most of what we answer is what agents said, and
 * an agent (or an old run record) may say something odd: an answer that does not match
 * its schema is written with JSON.stringify instead of failing the request.
 */
import type { FastifyInstance } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';

export function installSerializeGuard(app: FastifyInstance, references: readonly TSchema[]): void {
  const checks = new WeakMap<object, TypeCheck<TSchema>>();
  const checkOf = (schema: TSchema): TypeCheck<TSchema> => {
    let check = checks.get(schema);
    if (!check) {
      check = TypeCompiler.Compile(schema, [...references]);
      checks.set(schema, check);
    }
    return check;
  };

  app.addHook('preSerialization', async (request, reply, payload: unknown) => {
    if (payload === null || typeof payload !== 'object') return payload;
    const responses = request.routeOptions.schema?.response as Record<string, unknown> | undefined;
    const schema = responses?.[String(reply.statusCode)];
    if (schema === null || typeof schema !== 'object' || 'content' in schema) return payload;
    if (!checkOf(schema as TSchema).Check(payload)) reply.serializer((value: unknown) => JSON.stringify(value));
    return payload;
  });
}
