// Media sends beside the contract's image and document: POST /api/send/video, /api/send/audio
// (a voice note with `ptt: true`), /api/send/sticker. Procedures of the `messages` router.
import { z } from 'zod'
import { validationError } from '../errors.js'
import { sniffAudioType, VOICE_NOTE_TYPE, voiceNoteBytes } from '../session/outgoing/audio.js'
import { stickerFrom } from '../session/outgoing/sticker.js'
import { sniffVideoType } from '../session/outgoing/video.js'
import { sessionProcedure, withSession } from '../trpc.js'
import { jsonBoolean, messageSentSchema, sniffImageType } from './inputs.js'
import { captionSchema, chatOfRequest, checkMimeFamily, mediaFields, mediaOf, sendFields, sendTo } from './send-common.js'

export const mediaSends = {
  sendVideo: sessionProcedure
    .meta({
      idempotent: true,
      openapi: {
        method: 'POST',
        path: '/api/send/video',
        summary: 'Send a video with an optional caption',
        description: 'MP4 (H.264/AAC, what every WhatsApp client plays) or 3GP, as base64 in `video_base64` or fetched from `media_url`. `gif_playback: true` shows it as a looping GIF, without sound.',
        tags: ['Messaging'],
      },
    })
    .input(
      withSession({
        ...sendFields,
        ...mediaFields('video', 'The MP4 video'),
        caption: captionSchema,
        gif_playback: jsonBoolean().optional().describe('Play it as a looping GIF (muted), as WhatsApp sends GIFs'),
      }),
    )
    .output(messageSentSchema)
    .mutation(async ({ ctx, input }) => {
      const chat = chatOfRequest(input)
      checkMimeFamily(input.mime_type, 'video')
      const media = await mediaOf(input, input.video_base64, 'video_base64')
      const mimetype = input.mime_type ?? sniffVideoType(media.bytes)
      if (!mimetype) throw validationError([{ path: media.field, message: 'the data is not an MP4 or 3GP video (give mime_type to send it anyway)' }])
      return sendTo(await ctx.session.connection(), chat, input, {
        video: media.bytes,
        mimetype,
        ...(input.caption && { caption: input.caption }),
        ...(input.gif_playback && { gifPlayback: true }),
      })
    }),

  sendAudio: sessionProcedure
    .meta({
      idempotent: true,
      openapi: {
        method: 'POST',
        path: '/api/send/audio',
        summary: 'Send audio, or a voice note',
        description:
          'Audio (MP3, Ogg, M4A/AAC, WAV, AMR, FLAC, WebM) as base64 in `audio_base64` or fetched from `media_url`. With `ptt: true` it is a voice note: WhatsApp plays only Ogg/Opus as one, so other audio is converted with ffmpeg when the server has it, and refused with a 400 that says so when it does not.',
        tags: ['Messaging'],
      },
    })
    .input(
      withSession({
        ...sendFields,
        ...mediaFields('audio', 'The audio file'),
        ptt: jsonBoolean().optional().describe('Send it as a voice note (push to talk)'),
      }),
    )
    .output(messageSentSchema)
    .mutation(async ({ ctx, input }) => {
      const chat = chatOfRequest(input)
      checkMimeFamily(input.mime_type, 'audio')
      const media = await mediaOf(input, input.audio_base64, 'audio_base64')
      if (input.ptt) {
        const voice = await voiceNoteBytes(media.bytes, media.field)
        return sendTo(await ctx.session.connection(), chat, input, { audio: voice, mimetype: VOICE_NOTE_TYPE, ptt: true })
      }
      const mimetype = input.mime_type ?? sniffAudioType(media.bytes)
      if (!mimetype) {
        throw validationError([{ path: media.field, message: 'the data is not MP3, Ogg, M4A/AAC, WAV, AMR, FLAC or WebM audio (give mime_type to send it anyway)' }])
      }
      return sendTo(await ctx.session.connection(), chat, input, { audio: media.bytes, mimetype })
    }),

  sendSticker: sessionProcedure
    .meta({
      idempotent: true,
      openapi: {
        method: 'POST',
        path: '/api/send/sticker',
        summary: 'Send a sticker',
        description: 'A WebP (sent as it is, animated or not), or a PNG, JPEG or GIF converted to a 512x512 WebP; as base64 in `sticker_base64` or fetched from `media_url`.',
        tags: ['Messaging'],
      },
    })
    .input(withSession({ ...sendFields, ...mediaFields('sticker', 'The WebP, PNG or JPEG image') }))
    .output(messageSentSchema)
    .mutation(async ({ ctx, input }) => {
      const chat = chatOfRequest(input)
      checkMimeFamily(input.mime_type, 'image')
      const media = await mediaOf(input, input.sticker_base64, 'sticker_base64')
      const sticker = await stickerFrom(media.bytes, sniffImageType(media.bytes), media.field)
      return sendTo(await ctx.session.connection(), chat, input, { sticker: sticker.bytes, mimetype: 'image/webp', isAnimated: sticker.animated })
    }),
}
