// Messaging: POST /api/send/text, /api/send/image, /api/send/document, /api/send/group.
import { z } from 'zod'
import { validationError } from '../errors.js'
import { router, sessionProcedure, withSession } from '../trpc.js'
import {
  base64FileSchema,
  documentTypeFor,
  groupJidSchema,
  messageTextSchema,
  mimeTypeSchema,
  phoneSchema,
  sendResultSchema,
  sniffImageType,
  userJid,
} from './inputs.js'

const caption = z.string().max(4096).optional()

export const messagesRouter = router({
  sendText: sessionProcedure
    .meta({ openapi: { method: 'POST', path: '/api/send/text', summary: 'Send a text message', tags: ['Messaging'] } })
    .input(withSession({ phone: phoneSchema, message: messageTextSchema }))
    .output(sendResultSchema)
    .mutation(async ({ ctx, input }) => ({ status: 'sent' as const, ...(await (await ctx.session.connection()).sendText(userJid(input.phone), input.message)) })),

  sendImage: sessionProcedure
    .meta({ openapi: { method: 'POST', path: '/api/send/image', summary: 'Send an image with an optional caption', tags: ['Messaging'] } })
    .input(
      withSession({
        phone: phoneSchema,
        image_base64: base64FileSchema.describe('JPEG, PNG, GIF or WebP, base64-encoded'),
        caption,
        mime_type: mimeTypeSchema.optional().describe('Sniffed from the bytes when omitted'),
      }),
    )
    .output(sendResultSchema)
    .mutation(async ({ ctx, input }) => {
      const sniffed = sniffImageType(input.image_base64)
      if (!sniffed) throw validationError([{ path: 'image_base64', message: 'the data is not a JPEG, PNG, GIF or WebP image' }])
      if (input.mime_type && !input.mime_type.startsWith('image/')) {
        throw validationError([{ path: 'mime_type', message: 'expected an image type such as image/jpeg' }])
      }
      const sent = await (await ctx.session.connection()).sendImage(userJid(input.phone), input.image_base64, {
        caption: input.caption,
        mimetype: input.mime_type ?? sniffed,
      })
      return { status: 'sent' as const, ...sent }
    }),

  sendDocument: sessionProcedure
    .meta({ openapi: { method: 'POST', path: '/api/send/document', summary: 'Send a document (PDF, XLSX, ...)', tags: ['Messaging'] } })
    .input(
      withSession({
        phone: phoneSchema,
        document_base64: base64FileSchema.describe('The file, base64-encoded'),
        filename: z.string().min(1).max(255).describe('File name shown to the recipient, e.g. report.pdf'),
        mime_type: mimeTypeSchema.optional().describe('Guessed from the file name when omitted'),
        caption,
      }),
    )
    .output(sendResultSchema)
    .mutation(async ({ ctx, input }) => {
      const sent = await (await ctx.session.connection()).sendDocument(userJid(input.phone), input.document_base64, {
        fileName: input.filename,
        mimetype: input.mime_type ?? documentTypeFor(input.filename),
        caption: input.caption,
      })
      return { status: 'sent' as const, ...sent }
    }),

  sendGroup: sessionProcedure
    .meta({ openapi: { method: 'POST', path: '/api/send/group', summary: 'Send a text message to a group', tags: ['Groups'] } })
    .input(withSession({ group_jid: groupJidSchema, message: messageTextSchema }))
    .output(sendResultSchema)
    .mutation(async ({ ctx, input }) => ({ status: 'sent' as const, ...(await (await ctx.session.connection()).sendText(input.group_jid, input.message)) })),
})
