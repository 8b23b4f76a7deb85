/**
 * Entry point of a detached async job process (see async-job-runner.ts). Reads the job
 * description from stdin, keeps the script's lock (descriptor 3) to itself, runs the job.
 */
import { fcntlSync, constants as fsExt } from 'fs-ext';
import { createAuditLogger, isoUtc, type AuditLogger } from '@ctrl-exec/core';
import { AGENT_IDENT, Context } from '../cli/context.js';
import { processIO } from '../cli/io.js';
import { LOCK_FD, MAX_SPEC_BYTES, parseJobSpec, runAsyncJob, type AsyncJobSpec } from './async-job-runner.js';
import { writeRecord } from './async-store.js';

async function readStdin(limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

function auditFor(spec: AsyncJobSpec): { audit: AuditLogger; close: () => Promise<void> } {
  try {
    const ctx = new Context(processIO(), { config: spec.configFile });
    const audit = ctx.audit();
    return { audit, close: () => ctx.close() };
  } catch {
    const audit = createAuditLogger({ ident: AGENT_IDENT, syslog: { kind: 'none' } });
    return { audit, close: () => audit.close() };
  }
}

async function main(): Promise<number> {
  // The script must not inherit the lock: it is this process's to hold, and to drop on exit.
  try {
    fcntlSync(LOCK_FD, 'setfd', fsExt.FD_CLOEXEC);
  } catch {
    /* no lock descriptor: run anyway */
  }
  const text = await readStdin(MAX_SPEC_BYTES);
  const spec = text === undefined ? undefined : parseJobSpec(text);
  if (!spec) return 1;
  const { audit, close } = auditFor(spec);
  // SIGTERM is a cancel request (an agent shutting down leaves its jobs alone).
  const cancel = new AbortController();
  process.on('SIGTERM', () => {
    audit.log({ action: 'run-cancel', reqid: spec.reqid, script: spec.script });
    cancel.abort();
  });
  try {
    await runAsyncJob(spec, audit, cancel.signal);
  } catch (err) {
    try {
      writeRecord(spec.recordPath, {
        reqid: spec.reqid,
        status: 'done',
        script: spec.script,
        owner: spec.owner,
        started: spec.started,
        finished: isoUtc(),
        exit: -1,
        stdout: '',
        stderr: `async job failed: ${err instanceof Error ? err.message : String(err)}`,
      });
    } catch {
      /* nothing more to do */
    }
  } finally {
    await close().catch(() => undefined);
  }
  return 0;
}

process.exitCode = await main();
