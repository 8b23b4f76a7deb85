#!/usr/bin/env node
// Local quickstart: a CA, a dispatcher and one paired agent on 127.0.0.1, all inside
// ./state/quickstart, then a real run. Running it again reuses that state.
//   npm run quickstart            set up (first time), make sure the agent runs, run the demo script
//   npm run quickstart -- stop    stop the background agent
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync, openSync, closeSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
// CTRL_EXEC_QUICKSTART_DIR moves the state elsewhere (the test suite uses a temp dir).
const base = process.env.CTRL_EXEC_QUICKSTART_DIR || join(root, 'state', 'quickstart');
const dDir = join(base, 'dispatcher');
const aDir = join(base, 'agent');
const sDir = join(base, 'scripts');
const dConf = join(dDir, 'ctrl-exec.conf');
const aConf = join(aDir, 'agent.conf');
const agentPidFile = join(aDir, 'agent.pid');
const CED = join(root, 'packages', 'dispatcher', 'dist', 'bin', 'ctrl-exec.bundle.mjs');
const CEA = join(root, 'packages', 'agent', 'dist', 'bin', 'ctrl-exec-agent.bundle.mjs');
const API = join(root, 'packages', 'api', 'dist', 'bin', 'ctrl-exec-api.js');
const apiPidFile = join(dDir, 'api.pid');
const AGENT = 'agent-01';

function say(text) {
  process.stdout.write(process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m\n` : `${text}\n`);
}

function fail(text) {
  process.stderr.write(`quickstart: ${text}\n`);
  process.exit(1);
}

function run(bin, args, { quiet = false, allowFail = false } = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  if (!quiet) process.stdout.write(r.stdout);
  if (r.status !== 0 && !allowFail) fail(`${args.join(' ')} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  return r;
}
const ced = (args, o) => run(CED, ['--config', dConf, ...args], o);
const cea = (args, o) => run(CEA, ['--config', aConf, ...args], o);

async function freePort(preferred) {
  const tryPort = (port) =>
    new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(undefined));
      s.listen(port, '127.0.0.1', () => {
        const got = s.address().port;
        s.close(() => resolve(got));
      });
    });
  return (await tryPort(preferred)) ?? (await tryPort(0));
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function livePid(file) {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8'));
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}

/** Start a daemon in the background unless its pid file names a live process; wait for its port. */
async function daemon(what, pidFile, logFile, argv, port) {
  const running = livePid(pidFile);
  if (running) return running;
  say(`Starting the ${what} in the background...`);
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, argv, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  writeFileSync(pidFile, String(child.pid));
  const deadline = Date.now() + 15_000;
  for (;;) {
    const up = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return child.pid;
    if (!alive(child.pid) || Date.now() > deadline) fail(`the ${what} did not start; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const confPort = (file, key) => Number(new RegExp(`^${key} = (\\d+)$`, 'm').exec(readFileSync(file, 'utf8'))[1]);

function stop() {
  for (const [what, file] of [['agent', agentPidFile], ['API', apiPidFile]]) {
    const pid = livePid(file);
    if (pid) {
      process.kill(pid, 'SIGTERM');
      say(`Stopped the ${what} (pid ${pid}).`);
    } else say(`The ${what} is not running.`);
    if (existsSync(file)) unlinkSync(file);
  }
}

async function writeConfigs() {
  mkdirSync(dDir, { recursive: true });
  mkdirSync(aDir, { recursive: true });
  mkdirSync(sDir, { recursive: true });
  if (!existsSync(dConf)) {
    writeFileSync(
      dConf,
      [
        '# quickstart dispatcher: paths are relative to this file',
        'cert = dispatcher.crt',
        'key = dispatcher.key',
        'ca = ca.crt',
        'ca_dir = .',
        'state_dir = var',
        'dispatcher_id = quickstart-dispatcher',
        '# 2048-bit keys keep the first start quick; production default is 4096',
        'key_bits = 2048',
        'syslog = none',
        'log_json = audit.jsonl',
        '# the API listens on loopback only; with no auth hook, allow (production: deny + auth_hook)',
        'api_bind = 127.0.0.1',
        `api_port = ${await freePort(17445)}`,
        'api_auth_default = allow',
        '',
      ].join('\n'),
    );
  }
  if (!existsSync(aConf)) {
    const port = await freePort(17443);
    writeFileSync(
      aConf,
      [
        '# quickstart agent: paths are relative to this file',
        `port = ${port}`,
        'bind = 127.0.0.1',
        `hostname = ${AGENT}`,
        'cert = agent.crt',
        'key = agent.key',
        'ca = ca.crt',
        'ca_dir = .',
        'state_dir = var',
        `script_dirs = ${sDir}`,
        'key_bits = 2048',
        'syslog = none',
        'log_json = audit.jsonl',
        '',
        '[tags]',
        'env = quickstart',
        '',
        '[profile default]',
        'no_new_privileges = yes',
        '',
      ].join('\n'),
    );
  }
  const hello = join(sDir, 'hello.sh');
  if (!existsSync(hello)) {
    writeFileSync(
      hello,
      [
        '#!/bin/sh',
        '# demo script: prints where it ran, its arguments, and the request context it got on stdin',
        'echo "hello from $(hostname) as $(id -un) at $(date -u +%H:%M:%SZ)"',
        'for a in "$@"; do echo "arg: $a"; done',
        'echo "context: $(cat)"',
        '',
      ].join('\n'),
    );
    chmodSync(hello, 0o755);
  }
  const scripts = join(aDir, 'scripts.conf');
  if (!existsSync(scripts)) writeFileSync(scripts, `# allowlist: name = absolute path\nhello = ${hello}\n`);
}

async function pair() {
  if (!existsSync(join(dDir, 'ca.key'))) {
    say('Creating the CA and the dispatcher certificate...');
    ced(['setup-ca'], { quiet: true });
    ced(['setup-ctrl-exec'], { quiet: true });
  }
  if (cea(['paired'], { quiet: true, allowFail: true }).status === 0) return;
  say(`Pairing ${AGENT} with the dispatcher...`);
  const port = await freePort(17444);
  ced(['pairing-mode', 'start', '--port', String(port), '--bind', '127.0.0.1', '--timeout', '60'], { quiet: true });
  try {
    const reqid = cea(['request-pairing', '--dispatcher', '127.0.0.1', '--port', String(port), '--lookup-by', 'ip', '--background', '--timeout', '30'], { quiet: true }).stdout.trim();
    process.stdout.write(ced(['list-requests'], { quiet: true }).stdout);
    ced(['approve', reqid], { quiet: true });
    const deadline = Date.now() + 20_000;
    while (cea(['paired'], { quiet: true, allowFail: true }).status !== 0) {
      if (Date.now() > deadline) fail('the agent did not receive its certificate; see `ctrl-exec-agent pairing-status`');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    ced(['pairing-mode', 'stop'], { quiet: true, allowFail: true });
  }
}

function startAgent() {
  return daemon('agent', agentPidFile, join(aDir, 'agent.log'), [CEA, 'serve', '--config', aConf, '--allowlist', join(aDir, 'scripts.conf')], confPort(aConf, 'port'));
}

function startApi() {
  return daemon('API', apiPidFile, join(dDir, 'api.log'), [API, '--config', dConf], confPort(dConf, 'api_port'));
}

async function main() {
  if (!existsSync(CED) || !existsSync(CEA) || !existsSync(API)) fail('build first: npm run build');
  if (process.argv[2] === 'stop') return stop();
  await writeConfigs();
  await pair();
  const pid = await startAgent();
  say(`\n$ ctrl-exec run ${AGENT} hello -- "quick start"`);
  const r = ced(['run', AGENT, 'hello', '--', 'quick start'], { allowFail: true });
  if (r.status !== 0) fail(`the run failed:\n${r.stderr}`);
  const apiPid = await startApi();
  const url = `http://127.0.0.1:${confPort(dConf, 'api_port')}`;
  const body = JSON.stringify({ hosts: [AGENT], script: 'hello', args: ['from the API'] });
  say(`\n$ curl -s -XPOST ${url}/run -d '${body}'`);
  const res = await fetch(`${url}/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  process.stdout.write(`${await res.text()}\n`);
  if (res.status !== 200) fail(`the API answered ${res.status}`);
  say(`\nEverything lives in ${relative(process.cwd(), base) || '.'}. Try:`);
  const prefix = `node ${relative(process.cwd(), CED)} --config ${relative(process.cwd(), dConf)}`;
  process.stdout.write(`  ${prefix} ping ${AGENT}\n  ${prefix} run ${AGENT} hello --json -- a b\n  ${prefix} list-agents\n`);
  process.stdout.write(`  curl -s ${url}/status/<reqid>    curl -s ${url}/metrics    open ${url}/docs\n`);
  process.stdout.write(`The agent (pid ${pid}) and the API (pid ${apiPid}) keep running; stop them with: npm run quickstart -- stop\n`);
}

await main();
