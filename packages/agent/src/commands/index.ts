import type { CommandSpec } from '../cli/command.js';
import { requestPairingCommand } from './request-pairing/index.js';
import { pairingStatusCommand } from './pairing-status/index.js';
import { pairedCommand } from './paired/index.js';

/** Every mode of ctrl-exec-agent, in the order usage lists them. */
export const commands: readonly CommandSpec[] = [requestPairingCommand, pairingStatusCommand, pairedCommand];

export { requestPairingCommand, pairingStatusCommand, pairedCommand };
