// The OpenAPI 3.1 `webhooks` section: what the service POSTs to the configured webhook URL, one
// entry per event, generated from the event schemas of src/events/types.ts (so a new event is
// documented when it is defined) with each event's example.
import { z } from 'zod'
import type { OpenAPIObject } from 'trpc-to-openapi'
import { eventDataSchemas, eventExamples, eventTypes, type EventType } from '../events/types.js'

// Partial: an event added without a summary here is still documented, as "The <name> event".
const SUMMARIES: Partial<Record<EventType | string, string>> = {
  message: 'A message arrived (or was sent from the phone)',
  connected: 'The session connected to WhatsApp',
  disconnected: 'The connection to WhatsApp closed; the service reconnects on its own',
  qr: 'A new QR code to scan, while pairing',
  logged_out: 'The device was logged out: pair again',
  webhook_failed: 'A delivery was given up after its retries',
  webhook_test: 'Sent by POST /api/webhook/test',
  'message.ack': 'A sent message was delivered, read or played',
  'message.edited': 'A message was edited',
  'message.revoked': 'A message was deleted for everyone',
  'group.participants': 'Participants were added, removed, promoted or demoted',
  'group.update': 'A group\'s subject, description or settings changed',
  call: 'A call was offered, ended or rejected',
}

const header = (name: string, description: string, required = true) => ({ name, in: 'header', required, description, schema: { type: 'string' } })

/**
 * An event's data schema as JSON Schema, without the keys that belong to a whole document; named
 * schemas (zod `.meta({ id })`, e.g. MessageEvent) become components, shared with the API's own.
 */
function dataSchema(type: EventType, document: OpenAPIObject): unknown {
  const generated = z.toJSONSchema(eventDataSchemas[type], { target: 'draft-2020-12', io: 'output' }) as Record<string, unknown>
  const { $schema: _schema, $defs: defs = {}, id: _id, ...schema } = generated as Record<string, unknown> & { $defs?: Record<string, unknown> }
  const toComponents = (value: unknown) => JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/'))
  document.components ??= {}
  document.components.schemas ??= {}
  for (const [name, def] of Object.entries(defs)) document.components.schemas[name] ??= toComponents(def)
  return toComponents(schema)
}

export function declareWebhooks(document: OpenAPIObject): void {
  const webhooks: Record<string, unknown> = {}
  for (const type of eventTypes) {
    webhooks[type] = {
      post: {
        operationId: `webhook-${type}`,
        summary: SUMMARIES[type] ?? `The ${type} event`,
        description:
          `Delivered to the webhook URL as \`{"event": "${type}", "data": {...}}\`. Any 2xx answer acknowledges it; anything else, ` +
          'or no answer, is retried with backoff. With a webhook secret, X-Wsgo-Signature is the hex HMAC-SHA256 of the raw body and ' +
          'X-Wsgo-Signature-V2 is `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.',
        tags: ['Webhooks'],
        security: [],
        parameters: [
          header('X-Wsgo-Event', 'The event name, as in the body'),
          header('X-Wsgo-Delivery', 'The delivery id: the same across the retries of one delivery'),
          header('X-Wsgo-Timestamp', 'Unix seconds of this attempt'),
          header('X-Wsgo-Signature', 'With a secret: hex HMAC-SHA256 of the raw body', false),
          header('X-Wsgo-Signature-V2', 'With a secret: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">', false),
        ],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['event', 'data'],
                properties: { event: { type: 'string', const: type }, data: dataSchema(type, document) },
              },
              example: { event: type, data: eventExamples[type] },
            },
          },
        },
        responses: { '200': { description: 'Any 2xx acknowledges the delivery; other answers are retried' } },
      },
    }
  }
  ;(document as { webhooks?: Record<string, unknown> }).webhooks = webhooks
}
