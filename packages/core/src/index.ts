export * from './errors.js';
export * from './time.js';
export { writeFileAtomic, writeFileAtomicSync, type AtomicWriteOptions } from './fs/atomic-write.js';
export * from './pki/serial.js';
export * from './wire/http1.js';
export * from './stores/index.js';
