// Messaging: the contract's four sends (POST /api/send/text, /api/send/image, /api/send/document,
// /api/send/group), and every other kind of message, from the routers next to this one, under the
// same `messages` namespace. Each send takes `phone` or `chat`, `reply_to` and `mentions`.
import { z } from 'zod'
import { validationError } from '../errors.js'
import { router, sessionProcedure, withSession } from '../trpc.js'
import { documentTypeFor, groupJidSchema, messageOptionFields, messageSentSchema, messageTextSchema, sniffImageType } from './inputs.js'
import { messageActions } from './message-actions.js'
import { captionSchema, chatOfRequest, mediaFields, mediaOf, sendFields, sendTo } from './send-common.js'
import { contentSends } from './send-content.js'
import { mediaSends } from './send-media.js'

export const messagesRouter = router({
  sendText: sessionProcedure
    .meta({ idempotent: true, openapi: { method: 'POST', path: '/api/send/text', summary: 'Send a text message', description: 'To `phone` (or any `chat`: a person, a LID or a group), optionally quoting `reply_to` and @mentioning `mentions`.', tags: ['Messaging'] } })
    .input(withSession({ ...sendFields, message: messageTextSchema }))
    .output(messageSentSchema)
    .mutation(async ({ ctx, input }) => {
      const chat = chatOfRequest(input)
      return sendTo(await ctx.session.connection(), chat, input, { text: input.message })
    }),

  sendImage: sessionProcedure
    .meta({ idempotent: true, openapi: { method: 'POST', path: '/api/send/image', summary: 'Send an image with an optional caption', description: 'JPEG, PNG, GIF or WebP, as base64 in `image_base64` or fetched from `media_url`.', tags: ['Messaging'] } })
    .input(withSession({ ...sendFields, ...mediaFields('image', 'JPEG, PNG, GIF or WebP'), caption: captionSchema }))
    .output(messageSentSchema)
    .mutation(async ({ ctx, input }) => {
      const chat = chatOfRequest(input)
      if (input.mime_type && !input.mime_type.startsWith('image/')) {
        throw validationError([{ path: 'mime_type', message: 'expected an image type such as image/jpeg' }])
      }
      const media = await mediaOf(input, input.image_base64, 'image_base64')
      const sniffed = sniffImageType(media.bytes)
      if (!sniffed) throw validationError([{ path: media.field, message: 'the data is not a JPEG, PNG, GIF or WebP image' }])
      return sendTo(await ctx.session.connection(), chat, input, {
        image: media.bytes,
        mimetype: input.mime_type ?? sniffed,
        ...(input.caption && { caption: input.caption }),
      })
    }),

  sendDocument: sessionProcedure
    .meta({ idempotent: true, openapi: { method: 'POST', path: '/api/send/document', summary: 'Send a document (PDF, XLSX, ...)', description: 'Any file, as base64 in `document_base64` or fetched from `media_url`.', tags: ['Messaging'] } })
    .input(
      withSession({
        ...sendFields,
        ...mediaFields('document', 'The file', 'Guessed from the file name when omitted'),
        filename: z.string().min(1).max(255).describe('File name shown to the recipient, e.g. report.pdf'),
        caption: captionSchema,
      }),
    )
    .output(messageSentSchema)
    .mutation(async ({ ctx, input }) => {
      const chat = chatOfRequest(input)
      const media = await mediaOf(input, input.document_base64, 'document_base64')
      return sendTo(await ctx.session.connection(), chat, input, {
        document: media.bytes,
        mimetype: input.mime_type ?? documentTypeFor(input.filename),
        fileName: input.filename,
        ...(input.caption && { caption: input.caption }),
      })
    }),

  sendGroup: sessionProcedure
    .meta({ idempotent: true, openapi: { method: 'POST', path: '/api/send/group', summary: 'Send a text message to a group', description: 'Optionally quoting `reply_to` and @mentioning members in `mentions`.', tags: ['Groups'] } })
    .input(withSession({ group_jid: groupJidSchema, message: messageTextSchema, ...messageOptionFields }))
    .output(messageSentSchema)
    .mutation(async ({ ctx, input }) => sendTo(await ctx.session.connection(), input.group_jid, input, { text: input.message })),

  ...mediaSends,
  ...contentSends,
  ...messageActions,
})
