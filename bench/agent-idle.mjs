/**
 * agent-idle: resident memory of a fresh `ctrl-exec-agent serve` after start and after 1,000
 * runs of the trivial script, driven through the dispatcher library (8 at a time, each on its
 * own allowlist entry so no two collide). VmRSS is split into anonymous memory (the agent's
 * own) and file-backed pages (mostly the node executable, shared by every Node process).
 * The agent is then left idle until V8's memory reducer has shrunk the heap (about 30 s
 * after the load stops), and measured again. With --full a second agent started with
 * `--max-semi-space-size=1` shows what V8's young generation accounts for.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDispatcherConfig } from '@ctrl-exec/core';
import { createDispatcher } from '@ctrl-exec/dispatcher';
import { makeKeys, provisionAgent, startAgent, stopAgents } from './lib/fleet.mjs';
import { startNode, tempDir } from './lib/procs.mjs';
import { emit, log, verdict } from './lib/report.mjs';

const TARGET_MB = 50;
const UPSTREAM_MB = 30;
const RUNS = 1000;
const WIDTH = 8;

const settle = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024, peak: kb('VmHWM') / 1024 };
}

async function measure(ctx, d, key, dispatcher, label, flags, settleMs = 0) {
  const scripts = Array.from({ length: WIDTH }, (_, i) => `t${i + 1}`);
  const name = `idle-agent${label}`;
  const agent = await provisionAgent(d, join(ctx.root, name), { name, key, scripts });
  try {
    await startAgent(agent, flags);
    await settle(1000);
    const idle = memory(agent.proc.pid);
    let claimed = 0;
    let ok = 0;
    const deadline = Date.now() + 120_000;
    const worker = async (script) => {
      while (claimed < RUNS && Date.now() < deadline) {
        claimed++;
        const { results } = await dispatcher.run({ hosts: [agent.name], script });
        if (results[0]?.exit === 0) ok++;
      }
    };
    await Promise.all(scripts.map(worker));
    if (ok < claimed) log(`agent-idle: ${claimed - ok} of ${claimed} runs failed`);
    await settle(1000);
    const after = memory(agent.proc.pid);
    // Left alone, V8's memory reducer shrinks the heap some seconds after the load stops.
    let quiet = after;
    if (settleMs > 0) {
      const until = Date.now() + settleMs;
      while (Date.now() < until && quiet.anon > after.anon * 0.7) {
        await settle(1000);
        quiet = memory(agent.proc.pid);
      }
    }
    return { idle, after, quiet, runs: ok, failed: claimed - ok };
  } finally {
    await stopAgents([agent]);
  }
}

/** A node process doing nothing: the floor any Node agent starts from. */
async function bareNode() {
  const file = join(tempDir(), 'idle.mjs');
  writeFileSync(file, 'setInterval(() => {}, 1000);\n');
  const proc = startNode(file, [], { flags: [] });
  try {
    await settle(1000);
    return memory(proc.pid);
  } finally {
    await proc.stop();
  }
}

export async function agentIdle(ctx) {
  const d = await ctx.dispatcher();
  const bare = await bareNode();
  const [key] = await makeKeys(1, 2048);
  const dispatcher = createDispatcher({ config: loadDispatcherConfig(d.config).config });
  const split = (m) => ({ anon_mb: Number(m.anon.toFixed(1)), file_mb: Number(m.file.toFixed(1)) });
  try {
    emit('agent-idle', 'node_idle_rss', bare.rss, 'MB', { anon_mb: Number(bare.anon.toFixed(1)), file_mb: Number(bare.file.toFixed(1)), note: 'a bare node process running an empty timer' });
    const m = await measure(ctx, d, key, dispatcher, '', [], ctx.full ? 90_000 : 50_000);
    const goal = { target: `<= ${TARGET_MB}`, upstream: UPSTREAM_MB };
    emit('agent-idle', 'rss_after_start', m.idle.rss, 'MB', { ...split(m.idle), ...goal, verdict: verdict(m.idle.rss, { max: TARGET_MB }) });
    emit('agent-idle', 'rss_after_runs', m.after.rss, 'MB', { runs: m.runs, failed: m.failed, ...split(m.after), ...goal, verdict: verdict(m.after.rss, { max: TARGET_MB }) });
    emit('agent-idle', 'rss_peak', m.after.peak, 'MB', { runs: m.runs, note: 'VmHWM over the whole run' });
    emit('agent-idle', 'rss_idle_after_runs', m.quiet.rss, 'MB', {
      ...split(m.quiet),
      ...goal,
      verdict: verdict(m.quiet.rss, { max: TARGET_MB }),
      note: `left idle until V8's memory reducer gives the load's heap back (about 30 s; at most ${ctx.full ? 90 : 50} s)`,
    });
    emit('agent-idle', 'private_mb_after_start', m.idle.anon - bare.anon, 'MB', { note: "anonymous memory above a bare node process: what the agent itself adds (file-backed pages are node's executable, shared)" });
    emit('agent-idle', 'private_mb_idle_after_runs', m.quiet.anon - bare.anon, 'MB', { note: 'same, idle after the runs' });
    if (!ctx.full) return;

    const s = await measure(ctx, d, key, dispatcher, '-semi1', ['--max-semi-space-size=1']);
    const note = 'agent started with node --max-semi-space-size=1 (comparison, not the shipped default)';
    emit('agent-idle', 'rss_after_start_semi1', s.idle.rss, 'MB', { ...split(s.idle), note });
    emit('agent-idle', 'rss_after_runs_semi1', s.after.rss, 'MB', { runs: s.runs, ...split(s.after), note });
  } finally {
    dispatcher.close();
  }
}
