/** Every schema with an `$id`: upstream's endpoints and ours (scans). */
import { SHARED_SCHEMAS } from './api.js';
import { SCAN_SCHEMAS } from './scans.js';
import { CancelRequest, CancelResponse } from './cancel.js';

export const ALL_SCHEMAS = [...SHARED_SCHEMAS, ...SCAN_SCHEMAS, CancelRequest, CancelResponse] as const;
