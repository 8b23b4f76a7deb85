export {
  AgentClient,
  AgentRequestError,
  translateTransportError,
  type AgentClientOptions,
  type AgentFailureKind,
  type AgentReply,
  type AgentTarget,
  type PoolStats,
  type RequestPhase,
} from './agent-client.js';
export {
  createDispatcher,
  checkScriptName,
  formatRtt,
  DEFAULT_MAX_PARALLEL,
  type Dispatcher,
  type DispatcherOptions,
  type DispatchCommon,
  type DispatchOutcome,
  type HostResult,
  type HostsInput,
  type RunOptions,
} from './dispatcher.js';
export {
  aggregateRecord,
  asyncRecordFromSubmit,
  syncRecordFromResults,
  stateFromFetch,
  hostFailed,
  runSucceeded,
} from './run-records.js';
export {
  MAX_HOSTS,
  checkHostCount,
  parseHostRef,
  resolveHostRef,
  resolveHosts,
  targetLabel,
  unknownAgentsError,
  type ResolvedHost,
} from './targets.js';
export {
  DISPATCH_START_CHANNEL,
  DISPATCH_HOST_CHANNEL,
  DISPATCH_FINISH_CHANNEL,
  type DispatchOp,
  type DispatchStartMessage,
  type DispatchHostMessage,
  type DispatchFinishMessage,
} from './events.js';
export { mapLimit } from './pool.js';
export { cancelRun, type CancelResult } from './cancel.js';
export { cacheTags, selectByTags } from './tags.js';
export { FileTlsSessionStore, TLS_SESSIONS_FILE, type TlsSessionStore, type FileTlsSessionStoreOptions } from './tls-sessions.js';
