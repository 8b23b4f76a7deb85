/** The agent's mTLS server (port 7443) and its parts. */
export {
  AgentServer,
  DEFAULT_SHUTDOWN_GRACE_MS,
  HANDSHAKE_TIMEOUT_MS,
  JOB_ENTRY,
  KEEP_ALIVE_TIMEOUT_MS,
  matchRoute,
  type AgentLog,
  type AgentServerOptions,
  type AgentTlsMaterial,
} from './server.js';
export {
  RELOADABLE_KEYS,
  RESTART_KEYS,
  loadAllowlist,
  loadInitialState,
  mergeReloadable,
  reloadState,
  settingsFrom,
  type ServerSettings,
  type ServerState,
  type StateLoad,
} from './state.js';
export {
  MAX_SCHEMA_BYTES,
  SCHEMA_SUFFIX,
  canonicalJson,
  derivedSchemaVersion,
  loadSchemas,
  readSidecar,
  schemaVersionOf,
  type ScriptSchema,
  type SidecarResult,
} from './schemas.js';
export {
  LOCKS_DIR,
  MAX_REQID_LENGTH,
  RECORD_TTL_MS,
  isStorableReqid,
  lockName,
  lockPath,
  otherOwners,
  purgeExpired,
  readRecord,
  recordPath,
  scriptBusy,
  tryLockScript,
  writeRecord,
} from './async-store.js';
export { JOB_SPEC_VERSION, doneRecord, parseJobSpec, runAsyncJob, startJobProcess, type AsyncJobSpec, type JobLog } from './async-job-runner.js';
export { decodeRunRequest, handleRun, permittedScript, type RunRequestFields } from './run.js';
export { certExpiry, handlePing } from './ping.js';
export { handleCapabilities, isExecutable, scriptCapabilities } from './capabilities.js';
export { handleResult, RESULT_PATH } from './result.js';
export { normaliseIp, peerIdentity, type PeerIdentity } from './peer.js';
export { readBody, sendJson, jsonObject, perlTruthy, type BodyResult } from './http.js';
export type { AgentRuntime, Reply, RouteContext } from './route-context.js';
