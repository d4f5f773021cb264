// The events the service records and delivers. Each has a name and a data schema; the webhook
// envelope is `{event, data}` and GET /api/events lists `{id, type, timestamp, data}`.
import { z } from 'zod'

export const isoTimestamp = z
  .string()
  .describe('ISO 8601 UTC, e.g. 2026-06-09T12:00:00Z')
  .meta({ format: 'date-time', examples: ['2026-06-09T12:00:00.000Z'] })

/** The contract's webhook payload for an incoming message, plus the optional fields api-decisions.md allows. */
export const messageEventSchema = z
  .object({
    from: z.string().describe('Sender: phone-number JID when known, else the LID'),
    chat: z.string().describe('Chat JID: the sender for a direct chat, the group JID for a group'),
    messageID: z.string(),
    pushName: z.string(),
    timestamp: isoTimestamp,
    text: z.string().describe('Text, or the caption of a media message ("" when none)'),
    isGroup: z.boolean(),
    type: z.enum(['text', 'image', 'video', 'document', 'audio', 'sticker', 'location', 'contact', 'reaction', 'other']).optional(),
    caption: z.string().optional(),
    mimetype: z.string().optional(),
    fileName: z.string().optional(),
    fromMe: z.boolean().optional(),
    fromLid: z.string().optional().describe('The sender as a LID, when WhatsApp addressed them by LID'),
  })
  .meta({ id: 'MessageEvent' })

export const eventDataSchemas = {
  message: messageEventSchema,
  connected: z.object({ device: z.string().optional(), pushName: z.string().optional() }),
  disconnected: z.object({ code: z.number().optional(), reason: z.string(), reconnectInMs: z.number().min(0).optional() }),
  qr: z.object({ qr: z.string() }),
  logged_out: z.object({ reason: z.string() }),
  webhook_failed: z.object({ deliveryId: z.string(), webhook: z.string().optional().describe('The id of the webhook it was for'), event: z.string(), attempts: z.number().int().min(0), error: z.string() }),
  webhook_test: z.object({ message: z.string() }),
} as const

export type EventType = keyof typeof eventDataSchemas

/** One `data` of each event, for the OpenAPI document's webhooks section (checked against the schemas by a test). */
export const eventExamples: { [T in EventType]: EventData<T> } = {
  message: {
    from: '573001234567@s.whatsapp.net',
    chat: '573001234567@s.whatsapp.net',
    messageID: '3EB0C431C26A1916E07A',
    pushName: 'John',
    timestamp: '2026-06-09T12:00:00.000Z',
    text: 'Hello!',
    isGroup: false,
    type: 'text',
    fromMe: false,
  },
  connected: { device: '573000000000:1@s.whatsapp.net', pushName: 'Shop' },
  disconnected: { code: 428, reason: 'connection closed', reconnectInMs: 2000 },
  qr: { qr: '2@Xy9kQ0Z1bW9yZQ==,aGVsbG8=,d29ybGQ=,c2VjcmV0' },
  logged_out: { reason: 'logged out from the phone' },
  webhook_failed: { deliveryId: 'd7b1c9e2-4c1a-4f7e-9a53-0c2b9e1f6a10', event: 'message', attempts: 8, error: 'HTTP 500 from the receiver' },
  webhook_test: { message: 'This is a test event from wsgo' },
}
export const eventTypes = Object.keys(eventDataSchemas) as [EventType, ...EventType[]]
export const eventTypeSchema = z.enum(eventTypes)
export type EventData<T extends EventType> = z.infer<(typeof eventDataSchemas)[T]>

export const loggedEventSchema = z
  .object({
    id: z.number().int().min(0),
    type: z.string(),
    timestamp: isoTimestamp,
    data: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'LoggedEvent' })
export type LoggedEvent = z.infer<typeof loggedEventSchema>
