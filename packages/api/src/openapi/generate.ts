/**
 * The OpenAPI document from the route schemas alone: the same fastify options, plugins and
 * routes as the server, with a context no handler ever touches (nothing is served).
 */
import { writeFile } from 'node:fs/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { fastifyOptions } from '../app/build.js';
import type { ApiContext } from '../app/context.js';
import { registerRoutes } from '../routes/index.js';
import { STATIC_OPENAPI_PATH, swaggerOptions } from './document.js';

const NO_CONTEXT = new Proxy({} as ApiContext, {
  get() {
    throw new Error('the OpenAPI generator does not serve requests');
  },
});

export async function generateOpenApiDocument(): Promise<Record<string, unknown>> {
  const app = Fastify(fastifyOptions()) as unknown as FastifyInstance;
  try {
    await app.register(swagger, swaggerOptions());
    registerRoutes(app, NO_CONTEXT);
    await app.ready();
    return JSON.parse(JSON.stringify(app.swagger())) as Record<string, unknown>;
  } finally {
    await app.close();
  }
}

/** The committed text: two-space indented JSON and a final newline. */
export function openApiText(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export async function writeOpenApiDocument(path: string = STATIC_OPENAPI_PATH): Promise<string> {
  await writeFile(path, openApiText(await generateOpenApiDocument()));
  return path;
}
