export * from './registry.js';
export * from './pairing-queue.js';
