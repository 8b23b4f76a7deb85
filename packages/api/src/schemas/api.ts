/**
 * Request and response shapes of every endpoint (features B.1), written once: they drive
 * fastify's validation and serialization and the OpenAPI 3.1 document. Objects that carry
 * what an agent answered keep unknown fields (`additionalProperties`), so nothing an agent
 * adds is lost on the way to the client.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ErrorResponse } from './common.js';

/** upstream's cap on hosts in one operation */
export const MAX_HOSTS_PER_REQUEST = 500;

const HostList = Type.Array(Type.String({ description: 'Registered agent name, optionally `name:port`' }), {
  minItems: 1,
  maxItems: MAX_HOSTS_PER_REQUEST,
  description: 'Registered agents to address',
});
const Username = Type.String({ description: 'Advisory user name, passed to the auth hook and the agent' });
const Token = Type.String({ description: 'Credential for the auth hook (also forwarded to the agent); never logged' });
const Rtt = Type.String({ description: 'Round trip to the agent, e.g. `12ms`', examples: ['12ms'] });
const Reqid = Type.String({ pattern: '^[a-f0-9]+$', description: 'Request id: 16 lowercase hex digits, shared by every host of the operation' });

export const HealthResponse = Type.Object(
  { ok: Type.Literal(true), version: Type.String() },
  { $id: 'HealthResponse', description: 'The API is up' },
);

export const IndexResponse = Type.Object(
  {
    name: Type.Literal('ctrl-exec-api'),
    version: Type.String(),
    spec: Type.Literal('/openapi.json'),
    live_spec: Type.Literal('/openapi-live.json'),
    endpoints: Type.Array(Type.Object({ method: Type.String(), path: Type.String() })),
  },
  { $id: 'IndexResponse', description: 'What this server offers' },
);

export const PingRequest = Type.Object(
  { hosts: HostList, username: Type.Optional(Username), token: Type.Optional(Token) },
  { $id: 'PingRequest' },
);
export type PingBody = Static<typeof PingRequest>;

export const PingResult = Type.Object(
  {
    host: Type.String({ description: 'Registry name' }),
    status: Type.String({ description: '`ok` or `error`', examples: ['ok', 'error'] }),
    rtt: Rtt,
    version: Type.Optional(Type.String({ description: 'Agent version' })),
    expiry: Type.Optional(Type.String({ description: 'Agent certificate notAfter, e.g. `Jan 15 12:00:00 2026 GMT`' })),
    staged: Type.Optional(Type.Boolean({ description: 'A renewed certificate is staged on the agent' })),
    reqid: Type.Optional(Type.String()),
    reported_hostname: Type.Optional(Type.String({ description: 'The name the agent reports, when it differs from the registry name' })),
    error: Type.Optional(Type.String({ description: 'Why the host failed' })),
  },
  { $id: 'PingResult', additionalProperties: true },
);

export const PingResponse = Type.Object(
  { ok: Type.Literal(true), results: Type.Array(Type.Ref(PingResult)) },
  { $id: 'PingResponse', description: 'One result per host, in request order' },
);

export const RunRequest = Type.Object(
  {
    hosts: HostList,
    script: Type.String({ pattern: '^[\\w-]+$', description: 'Allowlisted script name' }),
    args: Type.Optional(Type.Array(Type.String(), { description: 'Script arguments (default none)' })),
    username: Type.Optional(Username),
    token: Type.Optional(Token),
    async: Type.Optional(Type.Boolean({ description: 'Submit detached and answer 202 at once; poll `/status/{reqid}`' })),
  },
  { $id: 'RunRequest' },
);
export type RunBody = Static<typeof RunRequest>;

export const RunResult = Type.Object(
  {
    host: Type.String({ description: 'Registry name' }),
    script: Type.Optional(Type.String()),
    exit: Type.Integer({ description: 'Script exit code; -1 when it did not run' }),
    stdout: Type.Optional(Type.String()),
    stderr: Type.Optional(Type.String()),
    reqid: Type.Optional(Type.String()),
    rtt: Type.Optional(Rtt),
    error: Type.Optional(Type.String({ description: 'Why the script did not run (`script not permitted`, `not authorised: ...`, transport failures)' })),
    reported_hostname: Type.Optional(Type.String()),
  },
  { $id: 'RunResult', additionalProperties: true },
);

export const RunResponse = Type.Object(
  { ok: Type.Literal(true), reqid: Reqid, results: Type.Array(Type.Ref(RunResult)) },
  { $id: 'RunResponse', description: 'Synchronous run: one result per host, in request order (also kept in the run store)' },
);

export const AsyncSubmitResult = Type.Object(
  {
    host: Type.String(),
    script: Type.Optional(Type.String()),
    status: Type.Union([Type.Literal('accepted'), Type.Literal('busy'), Type.Literal('error')]),
    reqid: Type.Optional(Type.String()),
    rtt: Type.Optional(Rtt),
    error: Type.Optional(Type.String()),
  },
  { $id: 'AsyncSubmitResult', additionalProperties: true },
);

export const AsyncSubmitResponse = Type.Object(
  { ok: Type.Literal(true), reqid: Reqid, async: Type.Literal(true), results: Type.Array(Type.Ref(AsyncSubmitResult)) },
  { $id: 'AsyncSubmitResponse', description: 'Asynchronous submit; `Location: /status/{reqid}`' },
);

export const HostStatus = Type.Object(
  {
    status: Type.String({ description: '`accepted`, `running` (pending), `done`, `expired`, `busy`, `error`' }),
    exit: Type.Optional(Type.Integer()),
    stdout: Type.Optional(Type.String()),
    stderr: Type.Optional(Type.String()),
    error: Type.Optional(Type.String()),
    fetch_error: Type.Optional(Type.String({ description: 'The last fetch failed; the host stays pending' })),
  },
  { $id: 'HostStatus', additionalProperties: true },
);

export const StatusResponse = Type.Object(
  {
    ok: Type.Literal(true),
    reqid: Type.String(),
    script: Type.String(),
    mode: Type.Union([Type.Literal('sync'), Type.Literal('async')]),
    complete: Type.Boolean(),
    hosts: Type.Union([
      Type.Array(Type.String(), { description: 'sync: the hosts as requested' }),
      Type.Object({}, { additionalProperties: Type.Ref(HostStatus), description: 'async: state per host' }),
    ]),
    results: Type.Optional(Type.Array(Type.Ref(RunResult), { description: 'sync only' })),
    completed: Type.Optional(Type.Integer({ description: 'sync only: epoch seconds' })),
    created: Type.Optional(Type.Integer({ description: 'async only: epoch seconds' })),
    pending: Type.Optional(Type.Array(Type.String(), { description: 'async only: hosts still running' })),
  },
  { $id: 'StatusResponse', additionalProperties: true, description: 'The stored record (async: pending hosts fetched first); never includes the submitter' },
);

export const StatusParams = Type.Object({ reqid: Reqid });
export const StatusQuery = Type.Object({
  wait: Type.Optional(
    Type.String({
      pattern: '^[0-9]{1,6}(\\.[0-9]{1,3})?$',
      description: 'Hold the answer until the run is complete or this many seconds (at most 60) have passed',
    }),
  ),
});

export const DiscoveryRequest = Type.Object(
  {
    hosts: Type.Optional(Type.Array(Type.String(), { maxItems: MAX_HOSTS_PER_REQUEST, description: 'Agents to ask; absent or empty: every registered agent' })),
    username: Type.Optional(Username),
    token: Type.Optional(Token),
  },
  { $id: 'DiscoveryRequest' },
);
export type DiscoveryBody = Static<typeof DiscoveryRequest>;

export const ScriptEntry = Type.Object(
  {
    name: Type.String(),
    path: Type.Optional(Type.String()),
    executable: Type.Optional(Type.Boolean()),
    profile: Type.Optional(Type.String()),
    schema_version: Type.Optional(Type.String()),
    schema: Type.Optional(Type.Unknown({ description: 'The script\'s schema sidecar' })),
  },
  { $id: 'ScriptEntry', additionalProperties: true },
);

export const HostCapabilities = Type.Object(
  {
    host: Type.String(),
    status: Type.String({ description: '`ok` or `error`' }),
    version: Type.Optional(Type.String()),
    reported_hostname: Type.Optional(Type.String()),
    tags: Type.Optional(Type.Object({}, { additionalProperties: Type.String() })),
    scripts: Type.Optional(Type.Array(Type.Ref(ScriptEntry))),
    rtt: Type.Optional(Rtt),
    error: Type.Optional(Type.String()),
  },
  { $id: 'HostCapabilities', additionalProperties: true },
);

export const DiscoveryResponse = Type.Object(
  { ok: Type.Literal(true), hosts: Type.Object({}, { additionalProperties: Type.Ref(HostCapabilities) }) },
  { $id: 'DiscoveryResponse', description: 'Capabilities per registry name' },
);

export const OpenApiDocument = Type.Object({}, { additionalProperties: true, description: 'An OpenAPI 3.1 document' });

/** Every schema with an `$id`, registered once with fastify (and so in the OpenAPI components). */
export const SHARED_SCHEMAS = [
  ErrorResponse,
  HealthResponse,
  IndexResponse,
  PingRequest,
  PingResult,
  PingResponse,
  RunRequest,
  RunResult,
  RunResponse,
  AsyncSubmitResult,
  AsyncSubmitResponse,
  HostStatus,
  StatusResponse,
  DiscoveryRequest,
  ScriptEntry,
  HostCapabilities,
  DiscoveryResponse,
] as const;
