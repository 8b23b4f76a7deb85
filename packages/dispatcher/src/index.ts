export { main } from './cli/main.js';
export { PairingServer, type PairingServerOptions } from './pairing/server.js';
export { approveRequest, denyRequest, dispatcherIdentity, PAIRING_CERT_DAYS } from './pairing/decide.js';
export * from './engine/index.js';
