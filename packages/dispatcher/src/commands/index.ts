import type { CommandSpec } from '../cli/command.js';
import { setupCa } from './setup-ca/index.js';
import { setupCtrlExec } from './setup-ctrl-exec/index.js';
import { pairingMode } from './pairing-mode/index.js';
import { listRequests } from './list-requests/index.js';
import { approve } from './approve/index.js';
import { deny } from './deny/index.js';
import { listAgents } from './list-agents/index.js';
import { editAgent } from './edit-agent/index.js';
import { unpair } from './unpair/index.js';
import { run } from './run/index.js';
import { status } from './status/index.js';
import { wait } from './wait/index.js';
import { ping } from './ping/index.js';
import { listLocks } from './list-locks/index.js';
import { rotateCertCommand } from './rotate-cert/index.js';
import { serialStatusCommand } from './serial-status/index.js';
import { maintainCommand } from './maintain/index.js';
import { scanCommand } from './scan/index.js';
import { scanStatusCommand } from './scan-status/index.js';
import { cancelCommand } from './cancel/index.js';
import { discoverCommand } from './discover/index.js';

/** Every mode, in the order `--help` lists them. */
export const commands: CommandSpec[] = [
  run,
  scanCommand,
  scanStatusCommand,
  status,
  wait,
  cancelCommand,
  ping,
  discoverCommand,
  setupCa,
  setupCtrlExec,
  pairingMode,
  listRequests,
  approve,
  deny,
  listAgents,
  editAgent,
  listLocks,
  rotateCertCommand,
  serialStatusCommand,
  unpair,
  maintainCommand,
];
