import type { CommandSpec } from '../cli/command.js';
import { serveCommand } from './serve/index.js';
import { requestPairingCommand } from './request-pairing/index.js';
import { pairingStatusCommand } from './pairing-status/index.js';
import { selfCheckCommand } from './self-check/index.js';
import { selfPingCommand } from './self-ping/index.js';
import { pairedCommand } from './paired/index.js';
import { promoteCertCommand } from './promote-cert/index.js';
import { certStagedCommand } from './cert-staged/index.js';

/** Every mode of ctrl-exec-agent, in the order usage lists them. */
export const commands: readonly CommandSpec[] = [
  serveCommand,
  requestPairingCommand,
  pairingStatusCommand,
  selfCheckCommand,
  selfPingCommand,
  promoteCertCommand,
  certStagedCommand,
  pairedCommand,
];

export { serveCommand, requestPairingCommand, pairingStatusCommand, selfCheckCommand, selfPingCommand, promoteCertCommand, certStagedCommand, pairedCommand };
