/**
 * POST /cancel (ours, not upstream's; DESIGN §3 item 7): stop an async job of the calling
 * dispatcher. The job process is asked with SIGTERM; it stops the script's whole process
 * group and records the run as done with `cancelled: true`, so `/result` and `status`
 * report it as usual and the script's lock is released.
 *
 * Only the dispatcher that submitted a job can see it (records are partitioned by its id),
 * the agent hook is asked (action `cancel`, args `[reqid]`), and the pid read from the
 * record is signalled only when that process really is this job (its command line carries
 * the job's marker), so a recycled pid is never hit.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { jobMarker } from './async-job-runner.js';
import { isStorableReqid, readRecord, recordPath } from './async-store.js';
import { agentHook } from './hook.js';
import { jsonObject, stringField } from './http.js';
import type { Reply, RouteContext } from './route-context.js';

/** How long a cancel waits for a job that has not recorded its pid yet. */
const START_WAIT_MS = 2000;

function pidOf(record: Record<string, unknown>): number | undefined {
  return typeof record.pid === 'number' && Number.isInteger(record.pid) && record.pid > 1 ? record.pid : undefined;
}

/** Whether `pid` is the live job process for `reqid`. */
export function isJobProcess(pid: number, reqid: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(jobMarker(reqid));
  } catch {
    return false;
  }
}

export async function handleCancel(ctx: RouteContext): Promise<Reply> {
  const body = jsonObject(ctx.body);
  const reqid = stringField(body, 'reqid');
  const token = stringField(body, 'token');
  ctx.runtime.addSecret(token);
  const { log } = ctx.runtime;
  const base = { dispatcher: ctx.dispatcher, peer: ctx.peer.ip, reqid };
  const unknown: Reply = { status: 404, body: { status: 'unknown', reqid } };
  if (reqid === '' || !isStorableReqid(reqid)) return unknown;
  const path = recordPath(ctx.state.config.asyncRunsDir, ctx.dispatcher, reqid);
  const record = readRecord(path);
  if (!record) {
    log({ action: 'cancel-miss', ...base });
    return unknown;
  }
  if (record.status !== 'running') return { status: 200, body: { status: 'done', reqid } };
  const decision = await agentHook(ctx, { action: 'cancel', script: typeof record.script === 'string' ? record.script : '', args: [reqid], username: stringField(body, 'username'), token });
  if (decision && !decision.allowed) {
    log({ action: 'cancel-deny', ...base, reason: decision.reason, level: 'warning' });
    return { status: 403, body: { error: `not authorised: ${decision.reason}` } };
  }
  // A job just submitted writes its pid within milliseconds of starting: give it a moment.
  let pid = pidOf(record);
  for (let waited = 0; pid === undefined && waited < START_WAIT_MS; waited += 50) {
    await sleep(50);
    const now = readRecord(path);
    if (now?.status === 'done') return { status: 200, body: { status: 'done', reqid } };
    pid = now ? pidOf(now) : undefined;
  }
  if (pid === undefined) return { status: 409, body: { status: 'error', reqid, error: 'job is starting; try again' } };
  if (!isJobProcess(pid, reqid)) {
    // Gone without writing its result (killed, machine restarted): nothing left to stop.
    const again = readRecord(path);
    if (again?.status === 'done') return { status: 200, body: { status: 'done', reqid } };
    return { status: 409, body: { status: 'error', reqid, error: 'job process not found' } };
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return { status: 200, body: { status: 'done', reqid } };
  }
  log({ action: 'cancel', ...base, script: typeof record.script === 'string' ? record.script : '' });
  return { status: 200, body: { status: 'cancelling', reqid } };
}
