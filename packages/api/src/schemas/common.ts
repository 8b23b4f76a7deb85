/**
 * Shapes shared by every route: the error envelope and the per-status error responses.
 * Every error the API answers with is `{"ok":false,"error":...}` (features B.1), so
 * clients can read the body instead of the status.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const ErrorResponse = Type.Object(
  {
    ok: Type.Literal(false),
    error: Type.String({ description: 'Short error class, or the auth hook reason on a denial' }),
    detail: Type.Optional(Type.String({ description: 'What went wrong, when there is more to say' })),
    code: Type.Optional(Type.Integer({ description: 'Auth denial: the hook exit code (1 denied, 2 bad credentials, 3 insufficient privilege, other N); lock conflict: 4' })),
    conflicts: Type.Optional(Type.Array(Type.String(), { description: 'Lock conflict: the `host:script` pairs already running' })),
  },
  { $id: 'ErrorResponse', description: 'Every error answer' },
);
export type ErrorBody = Static<typeof ErrorResponse>;

const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Bad request: missing or invalid body or field',
  403: 'Denied by the auth hook (`{"ok":false,"error":<reason>,"code":n}`), or `{"ok":false,"error":"forbidden"}` with auth_deny_generic',
  404: 'Not found',
  409: 'Locked: the script is already running on a host (`code` 4, `conflicts`)',
  413: 'Payload too large: body over 1048576 bytes',
  431: 'More than 32 header lines',
  500: 'Server error',
  503: 'Too many concurrent requests (api_max_children), or shutting down',
};

/** Response entries for these error statuses, each the shared ErrorResponse. */
export function errorResponses(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const status of statuses) {
    out[status] = Type.Ref(ErrorResponse, { description: ERROR_DESCRIPTIONS[status] ?? 'Error' });
  }
  return out;
}

/** Errors any gated request may get before its route runs. */
export const GATE_ERRORS = [403, 431, 503] as const;
