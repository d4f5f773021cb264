// Input schemas shared by several routers: phone numbers, JIDs and base64 files, validated and
// normalised where the request enters, so handlers only see clean values.
import { z } from 'zod'
import { isoTimestamp } from '../events/types.js'

/**
 * `+57 300 123 4567`, `573001234567`, `00573001234567`, `(57) 300-123.4567` -> `573001234567`.
 * Undefined when the text is not a phone number (letters, or not 7 to 15 digits).
 */
export function normalizePhone(raw: string): string | undefined {
  const compact = raw.trim().replace(/[\s\-.()]/g, '')
  const digits = compact.startsWith('+') ? compact.slice(1) : compact.startsWith('00') ? compact.slice(2) : compact
  return /^\d{7,15}$/.test(digits) ? digits : undefined
}

export const PHONE_RULE = 'expected a phone number in international format: 7 to 15 digits, optionally with +, spaces, dashes or parentheses'

// What normalizePhone accepts, as a pattern the OpenAPI document can carry: separators (white
// space, - . ( )) anywhere, then `+` or `00` or neither, then 7 to 15 digits. The lookahead keeps
// `00` from counting as digits when it is the prefix. A test checks it agrees with normalizePhone.
const SEP = String.raw`[\s\-.()]*`
export const PHONE_PATTERN = new RegExp(String.raw`^${SEP}(?:\+${SEP}|0${SEP}0${SEP}|(?!0${SEP}0))(?:\d${SEP}){7,15}$`)

/** A phone number, normalised to digits. */
export const phoneSchema = z
  .string()
  .regex(PHONE_PATTERN, PHONE_RULE)
  .describe('Phone number in international format, e.g. 573001234567 or +57 300 123 4567: 7 to 15 digits, optionally after + or 00, with spaces, dashes, dots or parentheses between them')
  .meta({ examples: ['573001234567'] })
  .transform((raw, ctx) => {
    const digits = normalizePhone(raw)
    if (!digits) {
      ctx.addIssue({ code: 'custom', message: PHONE_RULE })
      return z.NEVER
    }
    return digits
  })

export const userJid = (digits: string) => `${digits}@s.whatsapp.net`

export const groupJidSchema = z
  .string()
  .regex(/^[\d-]+@g\.us$/, 'expected a group JID such as 120363000000@g.us')
  .describe('Group JID, e.g. 120363000000@g.us')
  .meta({ examples: ['120363000000000001@g.us'] })

export const messageTextSchema = z.string().min(1, 'the message is empty').max(65_536).meta({ examples: ['Hello!'] })

export const sendResultSchema = z
  .object({
    status: z.literal('sent'),
    messageID: z.string().meta({ examples: ['3EB0C431C26A1916E07A'] }),
    timestamp: isoTimestamp,
  })
  .meta({ id: 'SendResult' })

const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/

/** A 1x1 PNG: the example of every base64 image field. */
export const TINY_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAADUlEQVQImWP4z8DwHwAFAAH/q842iQAAAABJRU5ErkJggg=='

/** Base64 (standard or URL-safe, optionally a `data:...;base64,` URL) decoded to bytes. */
export const base64FileSchema = z
  .string()
  .meta({ contentEncoding: 'base64', examples: [TINY_PNG] })
  .transform((raw, ctx) => {
  const text = raw.replace(/^data:[^;,]*;base64,/, '').replace(/\s+/g, '')
  if (text.length === 0 || !BASE64.test(text) || text.replace(/=+$/, '').length % 4 === 1) {
    ctx.addIssue({ code: 'custom', message: 'expected base64-encoded file content' })
    return z.NEVER
  }
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
})

/** The image type of some bytes, from their signature; undefined when they are not an image WhatsApp shows. */
export function sniffImageType(bytes: Buffer): string | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg'
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png'
  if (bytes.length >= 6 && /^GIF8[79]a$/.test(bytes.subarray(0, 6).toString('latin1'))) return 'image/gif'
  if (bytes.length >= 12 && bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp'
  return undefined
}

const DOCUMENT_TYPES: Record<string, string> = {
  pdf: 'application/pdf',
  txt: 'text/plain',
  csv: 'text/csv',
  json: 'application/json',
  zip: 'application/zip',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  ppt: 'application/vnd.ms-powerpoint',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  mp3: 'audio/mpeg',
  mp4: 'video/mp4',
}

/** A document's type from its file name, when the caller did not say. */
export function documentTypeFor(fileName: string): string {
  const extension = fileName.toLowerCase().split('.').pop() ?? ''
  return DOCUMENT_TYPES[extension] ?? 'application/octet-stream'
}

export const mimeTypeSchema = z.string().regex(/^[\w.+-]+\/[\w.+-]+$/, 'expected a MIME type such as image/jpeg').meta({ examples: ['image/jpeg'] })

// ---- what every message send shares (issue 15) ----------------------------------------------

/** A chat: a person by phone-number JID or LID, or a group. Device suffixes are not chats. */
export const chatJidSchema = z
  .string()
  .trim()
  .regex(/^(\d{5,20}@(s\.whatsapp\.net|lid)|[\d-]{5,40}@g\.us)$/, 'expected a chat JID: 573001234567@s.whatsapp.net, 123456789@lid or 120363000000@g.us')
  .describe('The chat instead of `phone`: a person (…@s.whatsapp.net or …@lid) or a group (…@g.us)')
  .meta({ examples: ['573001234567@s.whatsapp.net'] })

/** `phone` or `chat`: one of the two is required (checked by the handler, which names `phone`). */
export const targetFields = {
  phone: phoneSchema.optional(),
  chat: chatJidSchema.optional(),
}

/** A person's JID as given (phone-number JID or LID), or a phone number as its JID; undefined when neither. */
export function personJidOf(raw: string): string | undefined {
  const text = raw.trim()
  if (/^\d{5,20}@(s\.whatsapp\.net|lid)$/.test(text)) return text
  const digits = normalizePhone(text)
  return digits ? userJid(digits) : undefined
}

/** A phone number or a person's JID, as a JID: what `mentions` and `sender` accept. */
export const personSchema = z
  .string()
  .describe('A phone number (573001234567) or a person JID (…@s.whatsapp.net, …@lid)')
  .meta({ examples: ['573001234567'] })
  .transform((raw, ctx) => {
    const jid = personJidOf(raw)
    if (jid) return jid
    ctx.addIssue({ code: 'custom', message: 'expected a phone number or a person JID (…@s.whatsapp.net or …@lid)' })
    return z.NEVER
  })

export const messageIdSchema = z
  .string()
  .trim()
  .regex(/^[\w-]{1,128}$/, 'expected a WhatsApp message id such as 3EB0ABC123')
  .describe('A message id, as returned by a send (messageID) or carried by a webhook event')
  .meta({ examples: ['3EB0C431C26A1916E07A'] })

/** The options every message send takes besides its content. */
export const messageOptionFields = {
  reply_to: messageIdSchema.optional().describe('Quote this message (its id); the quote carries its content when the service sent it'),
  reply_to_sender: personSchema
    .optional()
    .describe('In a group, who wrote the quoted message, when it was not this account (WhatsApp shows the quote under their name)'),
  mentions: z
    .array(personSchema)
    .max(256)
    .optional()
    .describe('People to @mention (phones or JIDs); write @<their number> in the text where the mention goes'),
}

export const mediaUrlSchema = z
  .string()
  .trim()
  .max(4096)
  .refine((url) => /^https?:\/\//i.test(url) && URL.canParse(url), 'expected an http:// or https:// URL')
  .describe('Fetch the file from this http(s) URL instead of sending it as base64')
  // The document states the rule the refine checks (a JSON Schema pattern has no flags: both cases spelt).
  .meta({ format: 'uri', pattern: '^[Hh][Tt][Tt][Pp][Ss]?://', examples: ['https://example.com/photo.jpg'] })

/** What a message send answers: the contract's three fields, and where the message went. */
export const messageSentSchema = sendResultSchema
  .extend({
    chat: z.string().describe('The chat the message went to (a person\'s JID or a group JID)'),
    phoneJid: z.string().optional().describe('The person\'s phone-number JID, when known (not for groups)'),
    lid: z.string().optional().describe('The person\'s LID, when known (not for groups)'),
  })
  .meta({ id: 'MessageSent' })

// trpc-to-openapi switches on coercion for every z.boolean() and z.number() of a REST input, and
// the schema is shared with tRPC: `"false"` would become true and `null` 0. A pipe is left alone,
// so these stay strict JSON types on both interfaces.
/** A JSON true or false, never coerced. */
export const jsonBoolean = () => z.boolean().pipe(z.boolean())
/** A JSON number within bounds, never coerced. */
export const jsonNumber = (min: number, max: number, options: { int?: boolean } = {}) =>
  (options.int ? z.number().int() : z.number()).min(min).max(max).pipe(z.number())
