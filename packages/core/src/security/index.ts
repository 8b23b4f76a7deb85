export * from './rate-limit.js';
export * from './ip-allowlist.js';
export * from './revocation.js';
export * from './trusted-map.js';
