import { DEFAULT_AGENT_CONFIG_PATH } from '@ctrl-exec/core';
import type { Context } from '../../cli/context.js';
import { resolveAgentName } from '../../pairing/agent-name.js';
import { submitPairingRequest } from '../../pairing/attempt.js';
import { checkApproval, storeCredentials } from '../../pairing/credentials.js';
import { PairingError } from '../../pairing/failure.js';
import { VERDICT_INACTIVITY_MS } from '../../pairing/connection.js';
import { attemptOptions, logPairComplete, type PairingSetup } from './setup.js';

/** Interactive pairing: show the code, wait for the operator, store the certificates. */
export async function runForeground(ctx: Context, setup: PairingSetup): Promise<number> {
  const { request, paths } = setup;
  const { name, warning } = await resolveAgentName({ configured: setup.config.hostname });
  if (warning) ctx.err(warning);

  const pending = await submitPairingRequest({
    ...attemptOptions(setup, name),
    onCode: (code) => {
      ctx.out(`Pairing code: ${code}`);
      ctx.out('  Verify this code matches the ctrl-exec display before approving.');
      ctx.out('');
    },
  });
  ctx.out(`Pairing request ${pending.reqid} sent to ${request.dispatcher}:${request.port} as '${name}'. Waiting for approval...`);

  let approval;
  try {
    const verdict = await pending.verdict({
      inactivityMs: VERDICT_INACTIVITY_MS,
      ...(request.timeout !== undefined ? { timeoutMs: request.timeout * 1000 } : {}),
    });
    approval = checkApproval(verdict, pending.keyPem, name);
    await storeCredentials(paths, approval, pending.keyPem);
  } catch (err) {
    if (err instanceof PairingError) {
      if (err.outcome === 'timeout') ctx.log({ action: 'pair-timeout', reqid: pending.reqid });
      else ctx.log({ action: 'pair-denied', reqid: pending.reqid, reason: err.reason });
    }
    throw err;
  }
  logPairComplete(ctx, setup, approval);

  ctx.out('Pairing complete. Certificates stored.');
  ctx.out(`Start the agent: ctrl-exec-agent serve --config ${setup.config.file}`);
  if (setup.config.file === DEFAULT_AGENT_CONFIG_PATH) ctx.out('  (or with systemd: sudo systemctl enable --now ctrl-exec-agent)');
  ctx.out('If the agent is already running, restart it to load the new certificate.');
  return 0;
}
