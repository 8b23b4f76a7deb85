/** Shapes of `POST /status/{reqid}/cancel` (ours). */
import { Type } from '@sinclair/typebox';

export const CancelRequest = Type.Object(
  { username: Type.Optional(Type.String()), token: Type.Optional(Type.String({ description: 'Never logged' })) },
  { $id: 'CancelRequest' },
);
export const CancelResponse = Type.Object(
  {
    ok: Type.Literal(true),
    reqid: Type.String(),
    results: Type.Array(
      Type.Object(
        { host: Type.String(), status: Type.String({ description: '`cancelling`, `done` (nothing left to stop), `unknown` or `error`' }), error: Type.Optional(Type.String()) },
        { additionalProperties: true },
      ),
    ),
  },
  { $id: 'CancelResponse' },
);
