// The Idempotency-Key header in the OpenAPI document: on every operation of a send marked
// `idempotent`, with the 409 it can answer. Runs before the per-session copies are made, so they
// carry it too.
import type { OpenAPIObject } from 'trpc-to-openapi'
import { appRouter } from '../routers/index.js'
import type { Meta } from '../trpc.js'

type Operation = { parameters?: unknown[]; responses?: Record<string, unknown> }

export function declareIdempotencyKey(document: OpenAPIObject): void {
  const procedures = (appRouter as unknown as { _def: { procedures: Record<string, { _def: { meta?: Meta } }> } })._def.procedures
  for (const procedure of Object.values(procedures)) {
    const meta = procedure._def.meta
    if (!meta?.idempotent || !meta.openapi) continue
    const operation = (document.paths?.[meta.openapi.path] as Record<string, Operation> | undefined)?.[meta.openapi.method.toLowerCase()]
    if (!operation) continue
    operation.parameters = [
      ...(operation.parameters ?? []),
      {
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
        description: 'Makes a retry safe: the same key within 24 h answers the first result and sends nothing again (also after a restart). If the first call never finished (its process died mid-send), the retry sends again under the message id chosen for the first, which the recipient sees as one message. tRPC calls give it as `idempotencyKey` in the input.',
      },
    ]
    operation.responses ??= {}
    operation.responses['409'] ??= {
      description: 'This Idempotency-Key was used for a different request, or its first request is still in progress',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    }
  }
}
