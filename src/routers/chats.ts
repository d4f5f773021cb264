// Chats and stored messages: GET /api/chats, GET /api/chats/{jid}/messages, GET /api/messages/{id}.
// Reads of the store: answered by whichever process receives them (runsOn 'any').
import { z } from 'zod'
import { ApiError } from '../errors.js'
import {
  chatPageSchema,
  cursorField,
  DEFAULT_PAGE,
  MAX_PAGE,
  messagePageSchema,
  messageTypes,
  parseChatCursor,
  parseMessageCursor,
  storedMessageSchema,
} from '../messages/shapes.js'
import { router, sessionProcedure, withSession } from '../trpc.js'
import { normalizePhone, userJid } from './inputs.js'

const limitField = z.coerce
  .number()
  .int()
  .min(1)
  .max(MAX_PAGE)
  .default(DEFAULT_PAGE)
  .describe(`How many at most (1-${MAX_PAGE}, default ${DEFAULT_PAGE})`)

const JID = /^(\d{5,20}@(s\.whatsapp\.net|lid)|[\d-]{5,40}@g\.us)$/
const JID_RULE = 'expected a chat JID (573001234567@s.whatsapp.net, 123456789@lid, 120363000000@g.us) or a phone number'

/** A chat or a person: a JID, or a phone number taken as its phone-number JID. */
const jidOrPhone = (what: string) =>
  z
    .string()
    .describe(what)
    .transform((raw, ctx) => {
      // A path parameter may arrive still percent-encoded (`%40` for the `@`).
      const text = raw.trim().replace(/%40/gi, '@')
      if (JID.test(text)) return text
      const digits = normalizePhone(text)
      if (digits) return userJid(digits)
      ctx.addIssue({ code: 'custom', message: JID_RULE })
      return z.NEVER
    })

const instant = (what: string) =>
  z
    .string()
    .describe(`${what}: ISO 8601, e.g. 2026-06-09T12:00:00Z`)
    .transform((raw, ctx) => {
      const at = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(raw.trim()) ? new Date(raw.trim()) : new Date(NaN)
      if (Number.isNaN(at.getTime())) {
        ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 date or time such as 2026-06-09T12:00:00Z' })
        return z.NEVER
      }
      return at
    })

export const chatsRouter = router({
  list: sessionProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/chats',
        summary: 'Chats, newest activity first',
        description:
          `Each chat with its number, LID, name, unread count and last message; at most ${MAX_PAGE} per call. ` +
          'For the next (older) page pass `after` = this page\'s `next`.',
        tags: ['Chats'],
      },
      runsOn: 'any',
    })
    .input(
      withSession({
        limit: limitField,
        after: cursorField(parseChatCursor, 'the `next` of GET /api/chats').optional().describe('The previous page\'s `next`'),
      }),
    )
    .output(chatPageSchema)
    .query(({ ctx, input }) => ctx.session.history.chats({ limit: input.limit, after: input.after })),

  messages: sessionProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/chats/{jid}/messages',
        summary: 'A chat\'s stored messages',
        description:
          `Oldest first, at most ${MAX_PAGE} per call: the newest messages, or with \`before\` the page just older than a cursor, ` +
          'with `after` the page just newer (both: the messages between). Filters: `type`, `sender` (in groups), `since` and `until`. ' +
          'Each message carries its status, whether it was edited or deleted, and its own `cursor`.',
        tags: ['Chats'],
      },
      runsOn: 'any',
    })
    .input(
      withSession({
        jid: jidOrPhone('The chat: a person\'s JID or phone number, or a group JID'),
        limit: limitField,
        before: cursorField(parseMessageCursor, 'a message or a page of GET /api/chats/{jid}/messages').optional().describe('Messages older than this cursor'),
        after: cursorField(parseMessageCursor, 'a message or a page of GET /api/chats/{jid}/messages').optional().describe('Messages newer than this cursor'),
        type: z.enum(messageTypes).optional().describe('Only messages of this type'),
        sender: jidOrPhone('Only messages from this person (a JID or a phone number)').optional(),
        since: instant('Only messages sent at or after this time').optional(),
        until: instant('Only messages sent at or before this time').optional(),
      }),
    )
    .output(messagePageSchema)
    .query(({ ctx, input }) => {
      const { jid, limit, before, after, type, sender, since, until } = input
      return ctx.session.history.messages({ chat: jid, limit, before, after, type, sender, since, until })
    }),

  message: sessionProcedure
    .meta({
      openapi: { method: 'GET', path: '/api/messages/{id}', summary: 'One stored message', tags: ['Chats'] },
      runsOn: 'any',
    })
    .input(withSession({ id: z.string().trim().regex(/^[\w-]{1,128}$/, 'expected a WhatsApp message id such as 3EB0ABC123').describe('The message id') }))
    .output(storedMessageSchema)
    .query(async ({ ctx, input }) => {
      const message = await ctx.session.history.message(input.id)
      if (!message) throw new ApiError('NOT_FOUND', `No stored message with id ${input.id}`)
      return message
    }),
})
