// What the send routers share: the fields of every message send, and the step from a validated
// request to the session's send (chat, options, the media's bytes).
import { z } from 'zod'
import { validationError } from '../errors.js'
import type { WhatsAppConnection } from '../session/connection.js'
import { loadMedia, type LoadedMedia } from '../session/outgoing/media-source.js'
import { chatOf, type Target } from '../session/outgoing/recipient.js'
import { sendMessage, type MessageOptions, type MessageSent } from '../session/outgoing/send.js'
import type { AnyMessageContent } from '@whiskeysockets/baileys'
import { base64FileSchema, mediaUrlSchema, messageOptionFields, mimeTypeSchema, targetFields } from './inputs.js'

export const captionSchema = z.string().max(4096).optional()

/** `phone` or `chat`, `reply_to`, `reply_to_sender`, `mentions`: every message send's fields. */
export const sendFields = { ...targetFields, ...messageOptionFields }

/** The fields of a media send: `<kind>_base64` or `media_url`, and an optional type. */
export function mediaFields<K extends string>(kind: K, what: string, mimeTypeWhenOmitted = 'Sniffed from the bytes when omitted') {
  return {
    [`${kind}_base64`]: base64FileSchema.optional().describe(`${what}, base64-encoded (or give media_url)`),
    media_url: mediaUrlSchema.optional(),
    mime_type: mimeTypeSchema.optional().describe(mimeTypeWhenOmitted),
  } as { [P in `${K}_base64`]: z.ZodOptional<typeof base64FileSchema> } & {
    media_url: z.ZodOptional<typeof mediaUrlSchema>
    mime_type: z.ZodOptional<typeof mimeTypeSchema>
  }
}

/** The media of a request, and the field its problems are reported on. */
export async function mediaOf(input: { media_url?: string | undefined }, base64: Buffer | undefined, field: string): Promise<LoadedMedia & { field: string }> {
  const media = await loadMedia({ base64, media_url: input.media_url }, field)
  return { ...media, field: input.media_url ? 'media_url' : field }
}

/** Checks the caller's `mime_type` is of the right family (`video/`, `audio/`, ...). */
export function checkMimeFamily(mimeType: string | undefined, family: string): void {
  if (mimeType && !mimeType.startsWith(`${family}/`)) throw validationError([{ path: 'mime_type', message: `expected a ${family} type such as ${family}/${family === 'audio' ? 'mpeg' : 'mp4'}` }])
}

/** The chat a request names (a 400 naming `phone` when none): checked before any other work. */
export const chatOfRequest = (input: Target) => chatOf(input)

/** Sends content to the chat, with the request's reply and mentions. */
export function sendTo(connection: WhatsAppConnection, chat: string, input: MessageOptions, content: AnyMessageContent): Promise<MessageSent> {
  return sendMessage(connection, chat, content, { reply_to: input.reply_to, reply_to_sender: input.reply_to_sender, mentions: input.mentions })
}
