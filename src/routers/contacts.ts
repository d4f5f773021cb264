// Contacts: GET /api/contacts, GET /api/contacts/{phone}, POST /api/check-phone.
import { z } from 'zod'
import { validationError } from '../errors.js'
import { contactDetails, contactDetailsSchema } from '../session/contact-details.js'
import { contactSchema } from '../session/shapes.js'
import { router, sessionProcedure, withSession } from '../trpc.js'
import { normalizePhone, PHONE_RULE, userJid } from './inputs.js'

export const MAX_PHONES_PER_CHECK = 50
/** The largest page of GET /api/contacts, and the page a caller gets without asking for one. */
export const MAX_CONTACTS_PAGE = 1000

/** A user JID (phone number or LID, any device) reduced to the person: `573001234567:2@s.whatsapp.net` -> `573001234567@s.whatsapp.net`. */
const USER_JID = /^(\d{1,20})(?::\d+)?@(s\.whatsapp\.net|lid)$/

/** GET /api/contacts/{phone}: a phone number in any of the usual spellings, or a phone-number JID or LID. */
const contactIdSchema = z
  .string()
  .max(200)
  .describe('Phone number in international format (e.g. 573001234567 or +57 300 123 4567), or a JID (URL-encoded or not): 573001234567@s.whatsapp.net or a LID such as 123456789012345@lid')
  .meta({ examples: ['573001234567'] })
  .transform((raw, ctx) => {
    // A REST path parameter arrives still percent-encoded (`%40` for `@`, `%20` for a space).
    let text = raw.trim()
    try {
      text = decodeURIComponent(text)
    } catch {
      // not encoded: taken as it is
    }
    const jid = USER_JID.exec(text)
    if (jid) return `${jid[1]}@${jid[2]}`
    const digits = normalizePhone(text)
    if (digits) return userJid(digits)
    ctx.addIssue({ code: 'custom', message: `${PHONE_RULE}; or a JID such as 573001234567@s.whatsapp.net or 123456789012345@lid` })
    return z.NEVER
  })

export const contactsRouter = router({
  list: sessionProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/contacts',
        summary: 'Contacts known to the device',
        description:
          `In JID order, each person once, at most ${MAX_CONTACTS_PAGE} per call. For the next page pass \`after\` = the last \`jid\` of this one; ` +
          'a page shorter than `limit` is the last. `search` keeps contacts whose name, push name, business name or phone contains every word (case and accents ignored).',
        tags: ['Contacts'],
      },
      runsOn: 'any',
    })
    .input(
      withSession({
        limit: z.coerce.number().int().min(1).max(MAX_CONTACTS_PAGE).default(MAX_CONTACTS_PAGE).describe(`How many at most (1-${MAX_CONTACTS_PAGE})`),
        after: z.string().min(1).max(200).optional().describe('The last jid of the previous page'),
        search: z.string().trim().min(1).max(100).optional().describe('Words to find in the name, push name, business name or phone'),
      }).optional(),
    )
    .output(z.array(contactSchema))
    .query(({ ctx, input }) => ctx.session.contacts({ limit: input?.limit ?? MAX_CONTACTS_PAGE, after: input?.after, search: input?.search })),

  get: sessionProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/contacts/{phone}',
        summary: 'One contact, with its business profile and picture',
        description:
          'The stored contact (name, push name, LID) with whether it is a business and its profile picture URL, both asked of WhatsApp on first use and kept for an hour. ' +
          'When WhatsApp cannot be asked (not connected, no answer), the stored contact comes back with `isBusiness`/`pictureUrl` null and `fetched: false`. ' +
          'A number the store does not know is looked up on WhatsApp: 404 when it is not on WhatsApp (503 when WhatsApp is not connected).',
        tags: ['Contacts'],
      },
      errors: ['NOT_FOUND', 'NOT_CONNECTED'],
    })
    .input(withSession({ phone: contactIdSchema }))
    .output(contactDetailsSchema)
    .query(async ({ ctx, input }) => {
      const connection = await ctx.session.connection()
      return contactDetails(await ctx.session.contact(input.phone), input.phone, connection)
    }),

  checkPhones: sessionProcedure
    .meta({ openapi: { method: 'POST', path: '/api/check-phone', summary: 'Check whether phone numbers are on WhatsApp', tags: ['Contacts'] } })
    .input(withSession({ phones: z.array(z.string()).min(1, 'give at least one number').max(MAX_PHONES_PER_CHECK, `at most ${MAX_PHONES_PER_CHECK} numbers per call`) }))
    .output(z.array(z.object({ query: z.string(), jid: z.string(), isOnWhatsApp: z.boolean() })))
    .mutation(async ({ ctx, input }) => {
      const digits = input.phones.map(normalizePhone)
      const bad = digits.flatMap((d, i) => (d ? [] : [{ path: `phones.${i}`, message: PHONE_RULE }]))
      if (bad.length) throw validationError(bad)
      const registered = await (await ctx.session.connection()).registeredNumbers([...new Set(digits as string[])])
      return input.phones.map((query, i) => {
        const number = digits[i]!
        const jid = registered.get(number)
        return { query, jid: jid ?? userJid(number), isOnWhatsApp: jid !== undefined }
      })
    }),
})
