import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../app/context.js';
import { ALL_SCHEMAS } from '../schemas/all.js';
import { registerDiscoveryRoutes } from './discovery.js';
import { registerDocumentRoutes } from './documents.js';
import { registerMetaRoutes } from './meta.js';
import { registerPingRoute } from './ping.js';
import { registerRunRoute } from './run.js';
import { registerStatusRoute } from './status.js';
import { registerScanRoutes } from './scans.js';
import { registerCancelRoute } from './cancel.js';

export { INDEX_ENDPOINTS } from './meta.js';

/**
 * The shared schemas and every documented route. Registration reads nothing from `ctx`
 * (only the handlers do), so the OpenAPI generator can register the same routes.
 */
export function registerRoutes(app: FastifyInstance, ctx: ApiContext): void {
  for (const schema of ALL_SCHEMAS) app.addSchema(schema);
  registerMetaRoutes(app);
  registerPingRoute(app, ctx);
  registerRunRoute(app, ctx);
  registerDiscoveryRoutes(app, ctx);
  registerStatusRoute(app, ctx);
  registerCancelRoute(app, ctx);
  registerScanRoutes(app, ctx);
  registerDocumentRoutes(app, ctx);
}
