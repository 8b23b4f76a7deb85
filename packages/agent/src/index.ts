/** @ctrl-exec/agent: the ctrl-exec-agent program and its pairing client as a library. */
export { main, usage, splitMode } from './cli/main.js';
export { processIO, type CliIO, type ParentChannel } from './cli/io.js';
export { Context, AGENT_IDENT, type GlobalOptions } from './cli/context.js';
export type { CommandSpec } from './cli/command.js';
export {
  commands,
  serveCommand,
  requestPairingCommand,
  pairingStatusCommand,
  selfCheckCommand,
  selfPingCommand,
  pairedCommand,
} from './commands/index.js';
export * from './pairing/index.js';
export * from './server/index.js';
