export * from './registry.js';
export * from './pairing-queue.js';
export * from './locks.js';
export * from './run-store.js';
