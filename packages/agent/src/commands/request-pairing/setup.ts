import type { AgentConfig } from '@ctrl-exec/core';
import type { PairingRequestOptions } from '../../pairing/options.js';
import type { PairingPaths } from '../../pairing/preflight.js';
import type { CheckedApproval } from '../../pairing/credentials.js';
import type { Context } from '../../cli/context.js';
import type { PairingAttemptOptions } from '../../pairing/attempt.js';

/** Everything request-pairing has checked before any network I/O. */
export interface PairingSetup {
  request: PairingRequestOptions;
  config: AgentConfig;
  paths: PairingPaths;
  keyBits: number;
}

/** `pair-complete` (features 34): DISPATCHER is the dispatcher's id, DISPATCHER_HOST what we connected to. */
export function logPairComplete(ctx: Context, setup: PairingSetup, approval: CheckedApproval): void {
  ctx.log({
    action: 'pair-complete',
    dispatcher: approval.dispatcherId !== '' ? approval.dispatcherId : approval.id,
    dispatcher_host: setup.request.dispatcher,
    status: 'approved',
  });
}

/** What submitPairingRequest needs, from the checked setup. */
export function attemptOptions(setup: PairingSetup, agentName: string): PairingAttemptOptions {
  return {
    dispatcher: setup.request.dispatcher,
    port: setup.request.port,
    ...(setup.request.lookupBy ? { lookupBy: setup.request.lookupBy } : {}),
    agentName,
    agentPort: setup.config.port,
    keyBits: setup.keyBits,
  };
}
