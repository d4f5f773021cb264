// What is done to messages already in a chat, and to the chat: POST /api/send/reaction,
// /api/messages/edit, /api/messages/delete, /api/messages/read, /api/presence.
// Procedures of the `messages` router.
import { z } from 'zod'
import { chatStates, deleteForEveryone, editText, markRead, react, setChatState } from '../session/outgoing/actions.js'
import { chatOf } from '../session/outgoing/recipient.js'
import { sessionProcedure, withSession } from '../trpc.js'
import { jsonBoolean, messageIdSchema, messageSentSchema, messageTextSchema, personSchema, targetFields } from './inputs.js'

const senderField = personSchema.optional().describe('In a group, who wrote the message when it was not this account (phone or JID)')
const fromMeField = jsonBoolean()
  .optional()
  .describe('Whether this account wrote the message; by default true for messages this service sent')

export const messageActions = {
  sendReaction: sessionProcedure
    .meta({
      idempotent: true,
      openapi: {
        method: 'POST',
        path: '/api/send/reaction',
        summary: 'React to a message with an emoji',
        description: 'Puts `emoji` on the message `message_id` of the chat; an empty emoji removes this account\'s reaction.',
        tags: ['Messaging'],
      },
    })
    .input(
      withSession({
        ...targetFields,
        message_id: messageIdSchema,
        emoji: z
          .string()
          .max(32)
          .refine((emoji) => !/[\s\p{L}]/u.test(emoji), 'expected one emoji, or "" to remove the reaction')
          .describe('One emoji, e.g. 👍; "" removes the reaction'),
        sender: senderField,
        from_me: fromMeField,
      }),
    )
    .output(messageSentSchema)
    .mutation(async ({ ctx, input }) => {
      const chat = chatOf(input)
      return react(await ctx.session.connection(), { chat, id: input.message_id, sender: input.sender, fromMe: input.from_me }, input.emoji)
    }),

  editMessage: sessionProcedure
    .meta({
      idempotent: true,
      openapi: {
        method: 'POST',
        path: '/api/messages/edit',
        summary: 'Edit a text this account sent',
        description: 'Replaces the text of the message `message_id` (WhatsApp allows it for 15 minutes after sending). Answers with the id of the edit itself.',
        tags: ['Messaging'],
      },
    })
    .input(withSession({ ...targetFields, message_id: messageIdSchema, message: messageTextSchema.describe('The new text') }))
    .output(messageSentSchema)
    .mutation(async ({ ctx, input }) => {
      const chat = chatOf(input)
      return editText(await ctx.session.connection(), { chat, id: input.message_id }, input.message)
    }),

  deleteMessage: sessionProcedure
    .meta({
      idempotent: true,
      openapi: {
        method: 'POST',
        path: '/api/messages/delete',
        summary: 'Delete a message for everyone',
        description: 'This account\'s own message, or, as a group admin, a member\'s (name its author in `sender`). Answers with the id of the deletion itself.',
        tags: ['Messaging'],
      },
    })
    .input(withSession({ ...targetFields, message_id: messageIdSchema, sender: senderField, from_me: fromMeField }))
    .output(messageSentSchema)
    .mutation(async ({ ctx, input }) => {
      const chat = chatOf(input)
      return deleteForEveryone(await ctx.session.connection(), { chat, id: input.message_id, sender: input.sender, fromMe: input.from_me })
    }),

  markRead: sessionProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/messages/read',
        summary: 'Mark messages as read',
        description: 'Sends read receipts (blue ticks, when the account\'s privacy settings allow them) for up to 100 messages of one chat; in a group, name their author in `sender`.',
        tags: ['Messaging'],
      },
    })
    .input(withSession({ ...targetFields, message_ids: z.array(messageIdSchema).min(1, 'give at least one message id').max(100), sender: senderField }))
    .output(z.object({ status: z.literal('read'), chat: z.string(), count: z.number().int() }).meta({ id: 'MessagesRead' }))
    .mutation(async ({ ctx, input }) => {
      const chat = chatOf(input)
      const ids = [...new Set(input.message_ids)]
      await markRead(await ctx.session.connection(), chat, ids, input.sender)
      return { status: 'read' as const, chat, count: ids.length }
    }),

  setPresence: sessionProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/presence',
        summary: 'Show typing or recording in a chat',
        description: '`typing` shows "typing...", `recording` "recording audio...", `paused` clears it. WhatsApp clears it by itself after a few seconds without a new one.',
        tags: ['Messaging'],
      },
    })
    .input(withSession({ ...targetFields, state: z.enum(chatStates).describe('typing, recording or paused') }))
    .output(z.object({ status: z.literal('sent'), chat: z.string(), state: z.enum(chatStates) }).meta({ id: 'PresenceSent' }))
    .mutation(async ({ ctx, input }) => {
      const chat = chatOf(input)
      await setChatState(await ctx.session.connection(), chat, input.state)
      return { status: 'sent' as const, chat, state: input.state }
    }),
}
