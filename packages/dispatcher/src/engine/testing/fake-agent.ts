/**
 * A test double of the agent's port 7443 (wire-protocol §1.5), for engine and CLI tests:
 * a real mTLS server (client certificates required and checked against the CA) answering
 * /run, /ping, /capabilities and /result/<reqid> from a script table instead of running
 * anything. Hosts can be made slow, forbidden or broken. Not part of the public API.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { TLS_POLICY } from '@ctrl-exec/core';

export interface FakeScript {
  exit?: number;
  stdout?: string;
  stderr?: string;
  /** Sync: answer after this long. Async: the job runs this long. */
  delayMs?: number;
  /** Sync: answer only once this resolves (after delayMs). */
  until?: Promise<void>;
}

export interface FakeAgentOptions {
  /** Server certificate and key, and the CA client certificates must chain to. */
  cert: string;
  key: string;
  ca: string;
  /** `host` in ping/capabilities answers. Default 'agent.test'. */
  hostname?: string;
  version?: string;
  expiry?: string;
  /** Allowlist. Scripts not listed answer `script not permitted`. */
  scripts?: Record<string, FakeScript>;
  /** Answer every gated request 403 with this error (e.g. 'serial mismatch'). */
  forbid?: string;
  /** Answer /run with this status and raw body instead. */
  raw?: { status: number; body: string };
  /** Delay every answer (ms). */
  delayMs?: number;
  /** Close the connection after every answer, as upstream's HTTP/1.0 agent does. */
  closeEach?: boolean;
  /** Drop (without an answer) the n-th request of every connection. */
  dropNth?: number;
}

export interface FakeRequest {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
  headers: IncomingMessage['headers'];
}

export interface FakeAgent {
  readonly port: number;
  readonly options: FakeAgentOptions;
  /** TLS connections accepted so far. */
  connections(): number;
  /** TLS sessions resumed so far. */
  resumed(): number;
  /** Most requests ever being answered at the same time. */
  maxInFlight(): number;
  requests: FakeRequest[];
  close(): Promise<void>;
}

interface Job {
  reqid: string;
  script: string;
  started: string;
  finishAt: number;
  spec: FakeScript;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const perSocket = new WeakMap<object, number>();

export async function startFakeAgent(options: FakeAgentOptions): Promise<FakeAgent> {
  const jobs = new Map<string, Job>();
  const requests: FakeRequest[] = [];
  let connections = 0;
  let resumed = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const host = options.hostname ?? 'agent.test';

  const server: Server = createServer(
    {
      key: options.key,
      cert: options.cert,
      ca: options.ca,
      requestCert: true,
      rejectUnauthorized: true,
      ...TLS_POLICY,
      keepAliveTimeout: 15_000,
    },
    (req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      res.on('close', () => inFlight--);
      const nth = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, nth);
      if (options.dropNth === nth) {
        req.socket.destroy();
        return;
      }
      if (options.closeEach) res.shouldKeepAlive = false;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body: Record<string, unknown> | undefined;
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          body = text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
        } catch {
          body = undefined;
        }
        requests.push({ method: req.method ?? '', path: req.url ?? '', body, headers: req.headers });
        const answer = () => route(req, res, body, text);
        if (options.delayMs) setTimeout(answer, options.delayMs);
        else answer();
      });
    },
  );
  server.on('secureConnection', (socket: TLSSocket) => {
    connections++;
    if (socket.isSessionReused()) resumed++;
  });

  function route(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown> | undefined, text: string): void {
    const path = req.url ?? '';
    const reqid = typeof body?.reqid === 'string' ? body.reqid : '';
    if (options.forbid && path !== '/renew' && path !== '/renew-complete') {
      send(res, 403, path === '/capabilities' ? { error: options.forbid } : { error: options.forbid, status: 'forbidden' });
      return;
    }
    if (req.method === 'POST' && path === '/run') {
      if (options.raw) {
        send(res, options.raw.status, options.raw.body);
        return;
      }
      if (!body) {
        send(res, 200, { exit: -1, error: 'invalid JSON' });
        return;
      }
      if (req.headers['content-length'] !== String(Buffer.byteLength(text))) {
        send(res, 400, { error: 'content-length required' });
        return;
      }
      const script = String(body.script);
      const spec = options.scripts?.[script];
      if (!spec) {
        send(res, 200, { script, exit: -1, error: 'script not permitted', reqid });
        return;
      }
      if (body.async === true) {
        const busy = [...jobs.values()].some((j) => j.script === script && j.finishAt > Date.now());
        if (busy) {
          send(res, 409, { script, status: 'busy', reqid, error: 'script already running' });
          return;
        }
        jobs.set(reqid, { reqid, script, started: new Date().toISOString(), finishAt: Date.now() + (spec.delayMs ?? 0), spec });
        send(res, 202, { script, status: 'accepted', reqid });
        return;
      }
      const answer = () => {
        const reply = () => send(res, 200, { script, exit: spec.exit ?? 0, stdout: spec.stdout ?? '', stderr: spec.stderr ?? '', reqid });
        if (spec.until) void spec.until.then(reply);
        else reply();
      };
      if (spec.delayMs) setTimeout(answer, spec.delayMs);
      else answer();
      return;
    }
    if (req.method === 'POST' && path === '/ping') {
      send(res, 200, { status: 'ok', host, version: options.version ?? '0.0.0-test', expiry: options.expiry ?? 'Jan  1 00:00:00 2030 GMT', staged: false, reqid });
      return;
    }
    if (req.method === 'GET' && path === '/capabilities') {
      const scripts = Object.keys(options.scripts ?? {})
        .sort()
        .map((name) => ({ name, path: `/opt/scripts/${name}`, executable: true, profile: 'default' }));
      send(res, 200, { status: 'ok', host, version: options.version ?? '0.0.0-test', scripts, tags: {} });
      return;
    }
    const m = /^\/result\/([A-Za-z0-9_-]+)$/.exec(path);
    if (req.method === 'GET' && m) {
      const job = jobs.get(m[1]!);
      if (!job) {
        send(res, 404, { status: 'unknown', reqid: m[1] });
        return;
      }
      if (job.finishAt > Date.now()) {
        send(res, 200, { reqid: job.reqid, status: 'running', script: job.script, owner: 'test', started: job.started });
        return;
      }
      send(res, 200, {
        reqid: job.reqid,
        status: 'done',
        script: job.script,
        owner: 'test',
        started: job.started,
        finished: new Date().toISOString(),
        exit: job.spec.exit ?? 0,
        stdout: job.spec.stdout ?? '',
        stderr: job.spec.stderr ?? '',
      });
      return;
    }
    send(res, 404, { error: 'not found' });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    port,
    options,
    connections: () => connections,
    resumed: () => resumed,
    maxInFlight: () => maxInFlight,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
