import { RunStore, SCRIPT_NAME, UsageError, toCtrlExecError } from '@ctrl-exec/core';
import type { CommandSpec } from '../../cli/command.js';
import type { Context } from '../../cli/context.js';
import { asyncRecordFromSubmit, checkHostCount, runSucceeded, type Dispatcher, type ResolvedHost } from '../../engine/index.js';
import { asyncSubmitLines, runResultLines } from './render.js';
import { authorizeCli, credentials, dispatcherFor, hostRefs, lockForCli, Progress, splitPassthrough } from './support.js';

const USAGE = 'Usage: ctrl-exec run <host>[:<port>] [<host>...] <script> [-- <arg>...]   (or --tags k=v <script>)';

async function runSync(ctx: Context, dispatcher: Dispatcher, hosts: ResolvedHost[], script: string, args: string[], cred: { username: string; token: string }): Promise<number> {
  const progress = new Progress(ctx.io.stderr, hosts.length);
  const { results } = await dispatcher.run({
    hosts,
    script,
    args,
    ...cred,
    onResult: (r) => progress.hostDone(!runSucceeded(r)),
  });
  progress.finish();
  // `ok` says the operation ran (as upstream); the exit code says whether every host succeeded.
  if (ctx.json) ctx.printJson({ ok: 1, results });
  else for (const line of runResultLines(results)) ctx.out(line);
  return results.every(runSucceeded) ? 0 : 1;
}

async function runAsync(ctx: Context, dispatcher: Dispatcher, hosts: ResolvedHost[], script: string, args: string[], cred: { username: string; token: string }): Promise<number> {
  const { reqid, results } = await dispatcher.runAsync({ hosts, script, args, ...cred });
  const record = asyncRecordFromSubmit({ reqid, script, refs: hosts.map((h) => h.ref), results });
  try {
    new RunStore(ctx.config().paths.runsDir).put(record);
  } catch (err) {
    const e = toCtrlExecError(err, 'CE_ERR_FS');
    ctx.log({ action: 'run-store-fail', error: e.message, reqid, level: 'warning' });
    ctx.err(`Warning: could not record the run (${e.message}); 'status ${reqid}' will not find it`);
  }
  if (ctx.json) ctx.printJson({ ok: 1, reqid, results });
  else for (const line of asyncSubmitLines(reqid, results)) ctx.out(line);
  return results.some((r) => r.status === 'accepted') ? 0 : 1;
}

export const run: CommandSpec = {
  name: 'run',
  summary: 'run an allowlisted script on one or more agents',
  configure(cmd) {
    cmd
      .argument('[hosts-and-script...]', '<host>[:<port>]... <script>, then -- and the script arguments')
      .option('--async', 'submit detached and return a reqid (see status, wait)')
      .option('--tags <filter>', "also every agent whose cached tags match k=v[,k2=v2] (see 'discover')")
      .option('--username <name>', 'user name passed to the auth hook and the agent (default $USER)')
      .option('--token <token>', 'auth token (default $ENVEXEC_TOKEN); never logged');
  },
  async run(ctx, argv, opts) {
    const { positional, passthrough } = splitPassthrough(argv);
    const byTags = typeof opts.tags === 'string';
    if (positional.length < (byTags ? 1 : 2)) throw new UsageError(`Need at least one host and a script name\n${USAGE}`);
    const script = positional[positional.length - 1]!;
    const refs = hostRefs(ctx, positional.slice(0, -1), opts.tags);
    if (!SCRIPT_NAME.test(script)) throw new UsageError(`Invalid script name '${script}': letters, digits, '_' and '-' only`);
    checkHostCount(refs);
    const mode = opts.async === true ? 'async' : 'sync';

    const cred = credentials(ctx, opts);
    const denied = await authorizeCli(ctx, { action: 'run', script, hosts: refs, args: passthrough, ...cred });
    if (denied !== undefined) return denied;

    const dispatcher = dispatcherFor(ctx);
    try {
      const held = lockForCli(ctx, dispatcher, refs, script);
      if (typeof held === 'number') return held;
      const { hosts, locks } = held;
      // Held until every host has answered (or failed), released even if we crash: the
      // kernel drops the flock with the descriptor.
      try {
        return mode === 'async'
          ? await runAsync(ctx, dispatcher, hosts, script, passthrough, cred)
          : await runSync(ctx, dispatcher, hosts, script, passthrough, cred);
      } finally {
        locks.release();
      }
    } finally {
      dispatcher.close();
    }
  },
};
