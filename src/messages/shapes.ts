// What the chat and message routes answer and accept: zod schemas (the API's types come from them),
// WhatsApp's status numbers by name, and the opaque cursors of the paginated lists. No Baileys here:
// routers and the store readers load this in every process, before Baileys is loaded.
import { z } from 'zod'
import { isoTimestamp, messageEventSchema } from '../events/types.js'

/** The largest page of GET /api/chats and GET /api/chats/{jid}/messages. */
export const MAX_PAGE = 200
export const DEFAULT_PAGE = 50

/** WhatsApp's message status numbers (proto.WebMessageInfo.Status), by the names the API shows. */
export const STATUS_NAMES = ['error', 'pending', 'sent', 'delivered', 'read', 'played'] as const
export type StatusName = (typeof STATUS_NAMES)[number]
export const STATUS = { error: 0, pending: 1, sent: 2, delivered: 3, read: 4, played: 5 } as const satisfies Record<StatusName, number>

export const statusName = (status: number): StatusName => STATUS_NAMES[status] ?? 'pending'

export const messageTypes = messageEventSchema.shape.type.unwrap().options

export const receiptSchema = z.object({
  jid: z.string().describe('A group member: phone-number JID when known, else the LID'),
  deliveredAt: isoTimestamp.nullable(),
  readAt: isoTimestamp.nullable(),
})

/** A stored message: the webhook `message` event's fields, plus what happened to it since. */
export const storedMessageSchema = messageEventSchema
  .extend({
    type: z.enum(messageTypes),
    status: z
      .enum(STATUS_NAMES)
      .describe('For messages this account sent: pending, sent (WhatsApp has it), delivered, read, played (voice notes), or error. Received messages are delivered, read once read here or on the phone'),
    edited: z.boolean(),
    editedAt: isoTimestamp.nullable(),
    deleted: z.boolean().describe('Deleted for everyone by its sender: text and caption are emptied'),
    deletedAt: isoTimestamp.nullable(),
    receipts: z.array(receiptSchema).optional().describe('Group messages this account sent: who received and read it'),
    cursor: z.string().describe('This message\'s place in its chat: pass it as `before` or `after` to list from here'),
  })
  .meta({ id: 'StoredMessage' })
export type StoredMessage = z.infer<typeof storedMessageSchema>

/** The part of a stored message kept as JSON in its row (the rest are columns). */
export type MessageData = z.infer<typeof messageEventSchema>

export const chatSchema = z
  .object({
    jid: z.string().describe('The chat: a person\'s phone-number JID (their LID when the number is unknown), or a group JID'),
    isGroup: z.boolean(),
    phone: z.string().nullable().describe('The person\'s number (digits); null for groups and unknown numbers'),
    lid: z.string().nullable().describe('The person\'s LID, when known'),
    name: z.string().nullable().describe('The group subject, or the person\'s name (address book, else push name)'),
    unreadCount: z.number().int(),
    lastActivityAt: isoTimestamp,
    lastMessage: storedMessageSchema.nullable(),
  })
  .meta({ id: 'Chat' })
export type ChatView = z.infer<typeof chatSchema>

export const chatPageSchema = z.object({
  chats: z.array(chatSchema),
  next: z.string().nullable().describe('Pass as `after` for the next (older) page; null on the last'),
})

export const messagePageSchema = z.object({
  messages: z.array(storedMessageSchema).describe('Oldest first'),
  older: z.string().nullable().describe('Pass as `before` for the page just older than this one; null when nothing older is stored (a page listed with `after` always has one)'),
  newer: z
    .string()
    .nullable()
    .describe('Pass as `after` for the page just newer; null when the page ends at the newest stored (to poll for new messages, pass the last message\'s `cursor` as `after`)'),
})
export type MessagePage = z.infer<typeof messagePageSchema>

// ---- cursors -------------------------------------------------------------------------------------
// Opaque to callers (base64url), a position in a list's order: time in milliseconds plus the
// tie-break (a message's arrival number, a chat's JID). Decoding never throws: undefined is a 400.

export interface MessagePosition {
  at: number
  seq: number
}
export interface ChatPosition {
  at: number
  jid: string
}

const encode = (text: string) => Buffer.from(text, 'utf8').toString('base64url')
const decode = (cursor: string) => (/^[A-Za-z0-9_-]{1,400}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '')

export const messageCursor = ({ at, seq }: MessagePosition) => encode(`m:${at}:${seq}`)
export const chatCursor = ({ at, jid }: ChatPosition) => encode(`c:${at}:${jid}`)

export function parseMessageCursor(cursor: string): MessagePosition | undefined {
  const match = /^m:(-?\d{1,15}):(\d{1,15})$/.exec(decode(cursor))
  return match ? { at: Number(match[1]), seq: Number(match[2]) } : undefined
}

export function parseChatCursor(cursor: string): ChatPosition | undefined {
  const match = /^c:(-?\d{1,15}):(\S{3,200})$/.exec(decode(cursor))
  return match ? { at: Number(match[1]), jid: match[2]! } : undefined
}

/** A cursor field of a query: 400 naming the field when it is not one this API handed out. */
export const cursorField = <T>(parse: (cursor: string) => T | undefined, what: string) =>
  z
    .string()
    .transform((raw, ctx) => {
      const position = parse(raw.trim())
      if (position === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected a cursor from ${what}` })
        return z.NEVER
      }
      return position
    })
