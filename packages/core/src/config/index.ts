export type { ConfigWarning } from './warning.js';
export { INLINE_COMMENT_HINT, PROFILE_KEYS, PROFILE_NAME, type AgentProfile } from './profiles.js';
export {
  AGENT_CONFIG_KEYS,
  loadAgentConfig,
  parseAgentConfig,
  type AgentConfig,
  type LoadAgentConfigOptions,
  type ParsedAgentConfig,
} from './agent-config.js';
export {
  DEFAULT_RENEWAL_CERT_DAYS,
  DEFAULT_ROTATION_CERT_DAYS,
  DISPATCHER_CONFIG_KEYS,
  loadDispatcherConfig,
  parseDispatcherConfig,
  type DispatcherConfig,
  type DispatcherPaths,
  type LoadConfigOptions,
  type ParsedDispatcherConfig,
} from './dispatcher-config.js';
export { sanitiseDispatcherId, MAX_DISPATCHER_ID_LENGTH } from './dispatcher-id.js';
export {
  DEFAULT_PROFILE_NAME,
  checkScriptPath,
  isUnderScriptDirs,
  isValidScriptName,
  loadScriptsConfig,
  parseScriptsConfig,
  type ParsedScriptsConfig,
  type ScriptEntry,
  type ScriptPathCheck,
  type ScriptsConfigOptions,
} from './scripts-config.js';
export { validateProfilesReferenced } from './profile-check.js';
export {
  AGENT_CONFIG_ENV,
  DEFAULT_AGENT_CA_DIR,
  DEFAULT_AGENT_CONFIG_PATH,
  DEFAULT_AGENT_STATE_DIR,
  DEFAULT_DISPATCHER_CA_DIR,
  DEFAULT_DISPATCHER_CONFIG_PATH,
  DEFAULT_DISPATCHER_STATE_DIR,
  DEFAULT_SCRIPTS_CONFIG_PATH,
  DISPATCHER_CONFIG_ENV,
  defaultAgentConfigPath,
  defaultDispatcherConfigPath,
  resolveConfigPath,
} from './paths.js';
export { MAX_CONFIG_BYTES, readConfigFile, splitConfigLines, type ConfigLine } from './line-reader.js';
export { MAX_TIMER_SECONDS, isUpstreamYes, parseByteSize } from './values.js';
