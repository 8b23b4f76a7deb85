/** Shapes of the scan endpoints (ours, not upstream's): `POST /scans`, `GET /scans/{id}`, `GET /scans/{id}/sarif`. */
import { Type, type Static } from '@sinclair/typebox';
import { MAX_HOSTS_PER_REQUEST } from './api.js';

const ScanId = Type.String({ pattern: '^[a-f0-9]{16}$', description: 'Scan job id (the reqid of its async run)' });
const Severity = Type.Union(['critical', 'high', 'medium', 'low', 'info'].map((s) => Type.Literal(s)));

export const ScanRequestBody = Type.Object(
  {
    hosts: Type.Array(Type.String(), { minItems: 1, maxItems: MAX_HOSTS_PER_REQUEST, description: 'Agents that run the scan (each scans the same source)' }),
    git: Type.Optional(Type.String({ description: 'Git repository (https://, ssh:// or user@host:path)' })),
    ref: Type.Optional(Type.String({ description: 'Branch, tag or commit (with git)' })),
    archive: Type.Optional(Type.String({ description: 'https URL of a tar archive' })),
    path: Type.Optional(Type.String({ description: "Directory on the agent, inside its scan.conf scan_roots" })),
    types: Type.Optional(Type.Array(Type.String(), { description: '`sast`, `sca`, `secrets`, `licence`, `misconfig` (default the first four)' })),
    engines: Type.Optional(Type.Array(Type.String(), { description: 'Engines, added to those the types select' })),
    script: Type.Optional(Type.String({ pattern: '^[\\w-]+$', description: "The agents' allowlist name of the scan runner (default `scan`)" })),
    username: Type.Optional(Type.String()),
    token: Type.Optional(Type.String({ description: 'Never logged' })),
  },
  { $id: 'ScanRequest' },
);
export type ScanRequestBodyType = Static<typeof ScanRequestBody>;

export const ScanSubmitResponse = Type.Object(
  {
    ok: Type.Literal(true),
    id: ScanId,
    status: Type.Literal('running'),
    engines: Type.Array(Type.String()),
    results: Type.Array(Type.Object({ host: Type.String(), status: Type.String(), error: Type.Optional(Type.String()) }, { additionalProperties: true })),
  },
  { $id: 'ScanSubmitResponse', description: 'Submitted; `Location: /scans/{id}`' },
);

export const ScanFinding = Type.Object(
  {
    engine: Type.String(),
    engines: Type.Array(Type.String()),
    occurrences: Type.Integer(),
    type: Type.String(),
    ruleId: Type.String(),
    title: Type.String(),
    severity: Severity,
    fingerprint: Type.String(),
  },
  { $id: 'ScanFinding', additionalProperties: true, description: 'A normalised finding, merged across engines and hosts (location, package, cwe, licence, secret hint, references when known)' },
);

export const ScanJobResponse = Type.Object(
  {
    ok: Type.Literal(true),
    id: ScanId,
    status: Type.Union([Type.Literal('running'), Type.Literal('completed'), Type.Literal('partial'), Type.Literal('failed')]),
    engines: Type.Array(Type.String()),
    hosts: Type.Array(
      Type.Object(
        {
          host: Type.String(),
          ok: Type.Boolean(),
          running: Type.Optional(Type.Boolean()),
          source: Type.Optional(Type.String()),
          error: Type.Optional(Type.String()),
          findings: Type.Integer({ description: 'Findings this host reported' }),
          engines: Type.Optional(Type.Object({}, { additionalProperties: true })),
        },
        { additionalProperties: true },
      ),
    ),
    counts: Type.Object({ critical: Type.Integer(), high: Type.Integer(), medium: Type.Integer(), low: Type.Integer(), info: Type.Integer() }),
    findings: Type.Array(Type.Ref(ScanFinding)),
  },
  { $id: 'ScanJobResponse' },
);

export const ScanParams = Type.Object({ id: ScanId });

export const SCAN_SCHEMAS = [ScanRequestBody, ScanSubmitResponse, ScanFinding, ScanJobResponse] as const;
