// The events the service records and delivers. Each has a name and a data schema; the webhook
// envelope is `{event, data}` and GET /api/events lists `{id, type, timestamp, data}`.
import { z } from 'zod'

export const isoTimestamp = z
  .string()
  .describe('ISO 8601 UTC, e.g. 2026-06-09T12:00:00Z')
  .meta({ format: 'date-time', examples: ['2026-06-09T12:00:00.000Z'] })

/** Incoming media as stored by the service (src/media/): its bytes are at `url` (key-gated). */
export const incomingMediaSchema = z
  .object({
    url: z.string().describe('GET it for the bytes: /api/media/{messageID}'),
    mimetype: z.string(),
    size: z.number().int().min(0).describe('Bytes'),
    sha256: z.string().describe('Hex SHA-256 of the decrypted bytes'),
    fileName: z.string().optional(),
    available: z.boolean().describe('Whether the bytes are stored now'),
    error: z.string().optional().describe('Why they are not: too large, or the download failed (retried later, or POST /api/media/{id}/retry)'),
  })
  .meta({ id: 'IncomingMedia' })

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
    type: z.enum(['text', 'image', 'video', 'document', 'audio', 'sticker', 'location', 'contact', 'reaction', 'poll', 'poll_vote', 'other']).optional(),
    caption: z.string().optional(),
    mimetype: z.string().optional(),
    fileName: z.string().optional(),
    fromMe: z.boolean().optional(),
    fromLid: z.string().optional().describe('The sender as a LID, when WhatsApp addressed them by LID'),
    quotedMessageID: z.string().optional().describe('The message this one replies to'),
    mentions: z.array(z.string()).optional().describe('JIDs @mentioned in the text'),
    ptt: z.boolean().optional().describe('An audio message recorded as a voice note'),
    gifPlayback: z.boolean().optional().describe('A video meant to loop like a GIF'),
    seconds: z.number().int().min(0).optional().describe('Length of an audio or video'),
    media: incomingMediaSchema.optional(),
    location: z.object({ latitude: z.number(), longitude: z.number(), name: z.string().optional(), address: z.string().optional() }).optional(),
    contacts: z.array(z.object({ displayName: z.string(), vcard: z.string() })).optional().describe('Contact cards (one or several)'),
    reaction: z.object({ messageID: z.string(), emoji: z.string().describe('"" when the reaction was removed') }).optional(),
    poll: z.object({ question: z.string(), options: z.array(z.string()), selectableCount: z.number().int().min(0) }).optional(),
    vote: z
      .object({ pollMessageID: z.string(), options: z.array(z.string()).describe('The options now chosen (none: the vote was withdrawn)') })
      .optional()
      .describe('A vote on a poll this account sent, decrypted'),
  })
  .meta({ id: 'MessageEvent' })

const ackStatus = z.enum(['sent', 'delivered', 'read', 'played'])

export const eventDataSchemas = {
  message: messageEventSchema,
  connected: z.object({ device: z.string().optional(), pushName: z.string().optional() }),
  disconnected: z.object({ code: z.number().optional(), reason: z.string(), reconnectInMs: z.number().min(0).optional() }),
  qr: z.object({ qr: z.string() }),
  logged_out: z.object({ reason: z.string() }),
  webhook_failed: z.object({ deliveryId: z.string(), webhook: z.string().optional().describe('The id of the webhook it was for'), event: z.string(), attempts: z.number().int().min(0), error: z.string() }),
  webhook_test: z.object({ message: z.string() }),
  'message.ack': z.object({
    messageID: z.string(),
    chat: z.string(),
    status: ackStatus,
    participant: z.string().optional().describe('In a group: the member whose phone it is'),
    timestamp: isoTimestamp,
  }),
  'message.edited': z.object({
    messageID: z.string(),
    chat: z.string(),
    from: z.string(),
    text: z.string().describe('The new text'),
    isGroup: z.boolean(),
    timestamp: isoTimestamp,
  }),
  'message.revoked': z.object({ messageID: z.string(), chat: z.string(), from: z.string(), isGroup: z.boolean(), timestamp: isoTimestamp }),
  'group.participants': z.object({
    group: z.string(),
    action: z.enum(['add', 'remove', 'promote', 'demote', 'modify']),
    participants: z.array(z.string()),
    by: z.string().optional().describe('Who did it'),
  }),
  'group.update': z.object({
    group: z.string(),
    subject: z.string().optional(),
    description: z.string().optional(),
    announce: z.boolean().optional().describe('Only admins may send'),
    restrict: z.boolean().optional().describe('Only admins may edit the group info'),
    by: z.string().optional(),
  }),
  call: z.object({
    callID: z.string(),
    from: z.string(),
    status: z.enum(['offer', 'ringing', 'timeout', 'reject', 'accept', 'terminate']),
    isVideo: z.boolean(),
    isGroup: z.boolean(),
    timestamp: isoTimestamp,
    rejected: z.boolean().optional().describe('The service rejected it (REJECT_CALLS=true)'),
  }),
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
  'message.ack': { messageID: '3EB0C431C26A1916E07A', chat: '573001234567@s.whatsapp.net', status: 'read', timestamp: '2026-06-09T12:00:05.000Z' },
  'message.edited': {
    messageID: '3EB0C431C26A1916E07A',
    chat: '573001234567@s.whatsapp.net',
    from: '573001234567@s.whatsapp.net',
    text: 'Hello again!',
    isGroup: false,
    timestamp: '2026-06-09T12:01:00.000Z',
  },
  'message.revoked': { messageID: '3EB0C431C26A1916E07A', chat: '573001234567@s.whatsapp.net', from: '573001234567@s.whatsapp.net', isGroup: false, timestamp: '2026-06-09T12:02:00.000Z' },
  'group.participants': { group: '120363000000000001@g.us', action: 'add', participants: ['573001234567@s.whatsapp.net'], by: '573009876543@s.whatsapp.net' },
  'group.update': { group: '120363000000000001@g.us', subject: 'Weekend plans', by: '573009876543@s.whatsapp.net' },
  call: { callID: 'A1B2C3D4E5F6', from: '573001234567@s.whatsapp.net', status: 'offer', isVideo: false, isGroup: false, timestamp: '2026-06-09T12:03:00.000Z', rejected: true },
}

/** A `message` event with stored media, for documentation (README, OpenAPI examples). */
export const mediaMessageExample: EventData<'message'> = {
  from: '573001234567@s.whatsapp.net',
  chat: '573001234567@s.whatsapp.net',
  messageID: '3EB0D7F2A9C14B6E88F1',
  pushName: 'John',
  timestamp: '2026-06-09T12:00:00.000Z',
  text: 'The receipt',
  isGroup: false,
  type: 'image',
  caption: 'The receipt',
  mimetype: 'image/jpeg',
  media: {
    url: '/api/media/3EB0D7F2A9C14B6E88F1',
    mimetype: 'image/jpeg',
    size: 48213,
    sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    available: true,
  },
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
