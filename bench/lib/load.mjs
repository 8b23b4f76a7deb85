/**
 * A small closed-loop HTTP load generator: `concurrency` clients, each sending its next
 * request as soon as the previous one is answered, over keep-alive connections, until
 * `maxRequests` have been sent or `durationMs` has passed.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

function post(agent, url, body) {
  return new Promise((resolve) => {
    const payload = Buffer.from(JSON.stringify(body));
    const req = http.request(url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': payload.length },
    });
    req.setTimeout(60_000, () => req.destroy(new Error('client timeout')));
    req.on('error', (err) => resolve({ status: 0, error: err.message }));
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', (err) => resolve({ status: 0, error: err.message }));
      res.on('end', () => {
        let json;
        try {
          json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, json });
      });
    });
    req.end(payload);
  });
}

/**
 * `bodyFor(client)` gives the JSON body client number `client` (0-based) sends; `isOk(reply)`
 * says whether an answer counts as a success. Returns counts, latencies (ms) of successful
 * requests, and throughput over the whole window.
 */
export async function closedLoop({ url, concurrency, bodyFor, isOk, maxRequests, durationMs }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies = [];
  const failures = {};
  let sent = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const client = async (i) => {
    const body = bodyFor(i);
    while (sent < maxRequests && performance.now() < deadline) {
      sent++;
      const t0 = performance.now();
      const reply = await post(agent, url, body);
      const ms = performance.now() - t0;
      if (isOk(reply)) latencies.push(ms);
      else {
        const why = reply.status === 0 ? reply.error : `${reply.status} ${reply.json?.error ?? reply.json?.results?.[0]?.error ?? ''}`.trim();
        failures[why] = (failures[why] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => client(i)));
  const elapsedMs = performance.now() - started;
  agent.destroy();
  return { sent, ok: latencies.length, failed: sent - latencies.length, failures, latencies, elapsedMs, perSecond: (latencies.length * 1000) / elapsedMs };
}
