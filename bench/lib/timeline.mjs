/**
 * Preloaded into a CLI run (`node --import bench/lib/timeline.mjs ...`) to see where its wall
 * time goes: marks (ms since the process started) for this module's load, the first TLS
 * connection made and secured, the dispatch start/finish published by the engine on
 * diagnostics_channel, and exit. Written as JSON to $CE_BENCH_TIMELINE.
 */
import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const marks = { preload: performance.now() };
const now = () => performance.now();

subscribe('ce:dispatch:start', () => (marks.dispatchStart ??= now()));
subscribe('ce:dispatch:host', () => {
  marks.firstHostDone ??= now();
  marks.lastHostDone = now();
});
subscribe('ce:dispatch:finish', () => (marks.dispatchFinish = now()));
// https.Agent looks tls.connect up at call time, so wrapping it sees every agent connection.
const tls = createRequire(import.meta.url)('node:tls');
const connect = tls.connect;
tls.connect = function timedConnect(...args) {
  marks.firstConnect ??= now();
  const socket = connect.apply(this, args);
  socket.once('secureConnect', () => {
    marks.firstSecure ??= now();
    marks.lastSecure = now();
  });
  return socket;
};
process.once('exit', () => {
  marks.exit = now();
  if (process.env.CE_BENCH_TIMELINE) writeFileSync(process.env.CE_BENCH_TIMELINE, JSON.stringify(marks));
});
