/** What routes declare in their fastify `config`, read by the shared hooks. */
import type { ValidationMessages } from './validation.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** No auth gate (`/health`, `/metrics`). */
    open?: boolean;
    /** Validation messages, fields in upstream's check order. */
    validation?: ValidationMessages;
    /** A path parameter that does not match its pattern is "no route" (404). */
    paramsMismatchIsNotFound?: boolean;
  }
}

export {};
