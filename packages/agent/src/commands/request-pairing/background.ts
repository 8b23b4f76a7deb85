import { isoUtc, toCtrlExecError, UsageError } from '@ctrl-exec/core';
import type { Context } from '../../cli/context.js';
import { resolveAgentName } from '../../pairing/agent-name.js';
import { submitPairingRequest, type PendingPairing } from '../../pairing/attempt.js';
import { startBackgroundWorker, WORKER_FLAG, type WorkerReport } from '../../pairing/background.js';
import { checkApproval, storeCredentials } from '../../pairing/credentials.js';
import { PairingError } from '../../pairing/failure.js';
import { writeRequestState, type FinishedRequestState } from '../../pairing/request-state.js';
import { DEFAULT_BACKGROUND_TIMEOUT } from '../../pairing/options.js';
import { attemptOptions, logPairComplete, type PairingSetup } from './setup.js';

/** Exit codes of the background worker (wire-protocol §2.9). */
export const WORKER_EXIT = { approved: 0, timeout: 2, denied: 3 } as const;

/** Arguments that make the worker repeat this request exactly. */
export function workerArgs(setup: PairingSetup): string[] {
  const { request, config } = setup;
  return [
    'request-pairing',
    '--config', config.file,
    '--dispatcher', request.dispatcher,
    '--port', String(request.port),
    '--timeout', String(request.timeout ?? DEFAULT_BACKGROUND_TIMEOUT),
    ...(request.lookupBy ? ['--lookup-by', request.lookupBy] : []),
    '--background',
    WORKER_FLAG,
  ];
}

/** The parent: start the worker, print only the reqid once the dispatcher acknowledged. */
export async function runBackgroundParent(ctx: Context, setup: PairingSetup): Promise<number> {
  const report = await startBackgroundWorker({
    execPath: ctx.io.self.execPath,
    script: ctx.io.self.script,
    args: workerArgs(setup),
    env: ctx.io.env,
  });
  if (report.type === 'ack') {
    ctx.out(report.reqid);
    return 0;
  }
  ctx.err(report.message);
  return report.exit === 0 ? 1 : report.exit;
}

/**
 * The detached worker: make the attempt, report to the parent, record the request in
 * `pairing-request.json`, wait up to --timeout seconds, then store (0), or give up
 * (timeout 2, denied or failed 3), recording the outcome. The key and CSR never leave memory
 * unless approved.
 */
export async function runBackgroundWorker(ctx: Context, setup: PairingSetup): Promise<number> {
  const parent = ctx.io.parent;
  if (!parent) throw new UsageError(`${WORKER_FLAG} is internal to request-pairing --background`);
  const { request, paths } = setup;
  const timeout = request.timeout ?? DEFAULT_BACKGROUND_TIMEOUT;
  const tell = async (report: WorkerReport) => {
    await parent.send(report).catch(() => undefined);
  };

  let pending: PendingPairing;
  try {
    const { name } = await resolveAgentName({ configured: setup.config.hostname });
    pending = await submitPairingRequest(attemptOptions(setup, name));
  } catch (err) {
    const e = toCtrlExecError(err);
    await tell({ type: 'error', message: e.message, exit: e.exitCode });
    parent.disconnect();
    return e.exitCode;
  }

  const started = isoUtc();
  const base = { reqid: pending.reqid, dispatcher: request.dispatcher, port: request.port, started };
  try {
    await writeRequestState(paths.requestStatePath, { ...base, pid: ctx.io.pid, timeout, code: pending.code });
  } catch (err) {
    pending.close();
    const e = toCtrlExecError(err);
    await tell({ type: 'error', message: e.message, exit: e.exitCode });
    parent.disconnect();
    return e.exitCode;
  }
  await tell({ type: 'ack', reqid: pending.reqid });

  const abort = new AbortController();
  const onSignal = () => abort.abort();
  const signals = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
  for (const s of signals) process.on(s, onSignal);
  let finished: FinishedRequestState;
  try {
    const verdict = await pending.verdict({ timeoutMs: timeout * 1000, inactivityMs: timeout * 1000, signal: abort.signal });
    const approval = checkApproval(verdict, pending.keyPem, pending.agentName);
    await storeCredentials(paths, approval, pending.keyPem);
    logPairComplete(ctx, setup, approval);
    finished = { ...base, outcome: 'approved', exit: WORKER_EXIT.approved, finished: isoUtc() };
  } catch (err) {
    const e = err instanceof PairingError ? err : undefined;
    const reason = e?.reason ?? toCtrlExecError(err).message;
    if (e?.outcome === 'timeout') {
      ctx.log({ action: 'pair-timeout', reqid: pending.reqid });
      finished = { ...base, outcome: 'timeout', exit: WORKER_EXIT.timeout, reason, finished: isoUtc() };
    } else {
      ctx.log({ action: 'pair-denied', reqid: pending.reqid, reason });
      finished = { ...base, outcome: e?.outcome === 'denied' ? 'denied' : 'failed', exit: WORKER_EXIT.denied, reason, finished: isoUtc() };
    }
  } finally {
    for (const s of signals) process.off(s, onSignal);
    pending.close();
    parent.disconnect();
  }
  await ctx.flushAudit().catch(() => undefined);
  await writeRequestState(paths.requestStatePath, finished).catch(() => undefined);
  return finished.exit;
}
