export { SAFE_PATH, PASSTHROUGH_ENV_VARS, scrubEnv } from './env.js';
export {
  runScript,
  DEFAULT_MAX_OUTPUT_BYTES,
  DEFAULT_STDIN_TIMEOUT_MS,
  KILL_GRACE_MS,
  EXIT_DRAIN_MS,
  type RunScriptOptions,
  type ScriptResult,
} from './run-script.js';
export { buildStdinContext, type StdinContextFields } from './stdin-context.js';
export { OutputCapture, omittedMarker, type CapturedOutput } from './output-capture.js';
export { EXIT_SIGNALLED, EXIT_EXEC_FAILED, EXIT_SPAWN_FAILED, startFailure, type StartFailure } from './exit-status.js';
export { signalGroup, groupAlive } from './process-group.js';
export { prepareScriptPipes, scriptPipesStatus, type ScriptPipesOptions } from './script-pipes.js';
export type { FifoPoolStatus, FifoPoolState } from './fifo-pool.js';
