// Incoming media (src/media/): what the service downloaded of each image, video, audio, document
// and sticker it received, by message id. GET /api/media/{id} answers the bytes themselves
// (src/media/http.ts, through `info` here for the key check); tRPC callers get them as base64.
import { z } from 'zod'
import { ApiError } from '../errors.js'
import { incomingMediaSchema } from '../events/types.js'
import { toField } from '../media/field.js'
import type { MediaRecord } from '../media/store.js'
import { router, sessionProcedure, withSession } from '../trpc.js'
import { messageIdSchema } from './inputs.js'

export const mediaInfoSchema = incomingMediaSchema
  .extend({ id: z.string().describe('The message id') })
  .meta({ id: 'MediaInfo' })

const info = (record: MediaRecord) => ({ id: record.id, ...toField(record) })

const notFound = (id: string) => new ApiError('NOT_FOUND', `No incoming media for message "${id}"`)

export const mediaRouter = router({
  info: sessionProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/media/{id}/info',
        summary: 'What is known of an incoming media file',
        description: 'Its type, size, SHA-256 and file name, and whether its bytes are stored (else why not).',
        tags: ['Media'],
      },
      runsOn: 'any',
    })
    .input(withSession({ id: messageIdSchema }))
    .output(mediaInfoSchema)
    .query(async ({ ctx, input }) => {
      const record = await ctx.session.media.info(input.id)
      if (!record) throw notFound(input.id)
      return info(record)
    }),

  download: sessionProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/media/{id}',
        summary: 'The bytes of an incoming media file',
        description:
          'The decrypted file as the sender sent it, with its Content-Type, Content-Length and Content-Disposition (file name). ' +
          '404 when there is no media for this message id, 409 when its bytes are not stored (see `error` in /info; POST /api/media/{id}/retry).',
        tags: ['Media'],
      },
      runsOn: 'any',
    })
    .input(withSession({ id: messageIdSchema }))
    .output(mediaInfoSchema.extend({ data_base64: z.string().describe('The bytes, base64 (tRPC; REST answers the bytes themselves)') }))
    .query(async ({ ctx, input }) => {
      const stored = await ctx.session.media.read(input.id)
      if (!stored) throw notFound(input.id)
      if (!stored.data) throw new ApiError('CONFLICT', `The media of message "${input.id}" is not stored: ${stored.record.error ?? 'unavailable'}`)
      return { ...info(stored.record), data_base64: stored.data.toString('base64') }
    }),

  retry: sessionProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/media/{id}/retry',
        summary: 'Download an incoming media file again',
        description: 'For media whose download failed: tries it now and answers what is known of it afterwards.',
        tags: ['Media'],
      },
    })
    .input(withSession({ id: messageIdSchema }))
    .output(mediaInfoSchema)
    .mutation(async ({ ctx, input }) => {
      const connection = await ctx.session.connection()
      const record = connection.media ? await connection.media.retry(input.id) : await ctx.session.media.info(input.id)
      if (!record) throw notFound(input.id)
      return info(record)
    }),
})
