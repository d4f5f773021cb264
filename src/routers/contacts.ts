// Contacts: GET /api/contacts, POST /api/check-phone.
import { z } from 'zod'
import { validationError } from '../errors.js'
import { protectedProcedure, router } from '../trpc.js'
import { normalizePhone, PHONE_RULE, userJid } from './inputs.js'

const contactSchema = z
  .object({
    jid: z.string().describe('Phone-number JID when known, else the LID'),
    lid: z.string().nullable(),
    phone: z.string().nullable().describe('Digits, when known'),
    name: z.string().nullable().describe('Name saved in the phone\'s address book'),
    notify: z.string().nullable().describe('The contact\'s own push name'),
    verifiedName: z.string().nullable(),
  })
  .meta({ id: 'Contact' })

export const MAX_PHONES_PER_CHECK = 50

export const contactsRouter = router({
  list: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/api/contacts', summary: 'Contacts known to the device', tags: ['Contacts'] } })
    .input(z.void())
    .output(z.array(contactSchema))
    .query(({ ctx }) => ctx.services.contacts.list()),

  checkPhones: protectedProcedure
    .meta({ openapi: { method: 'POST', path: '/api/check-phone', summary: 'Check whether phone numbers are on WhatsApp', tags: ['Contacts'] } })
    .input(z.object({ phones: z.array(z.string()).min(1, 'give at least one number').max(MAX_PHONES_PER_CHECK, `at most ${MAX_PHONES_PER_CHECK} numbers per call`) }))
    .output(z.array(z.object({ query: z.string(), jid: z.string(), isOnWhatsApp: z.boolean() })))
    .mutation(async ({ ctx, input }) => {
      const digits = input.phones.map(normalizePhone)
      const bad = digits.flatMap((d, i) => (d ? [] : [{ path: `phones.${i}`, message: PHONE_RULE }]))
      if (bad.length) throw validationError(bad)
      const registered = await ctx.services.session.registeredNumbers([...new Set(digits as string[])])
      return input.phones.map((query, i) => {
        const number = digits[i]!
        const jid = registered.get(number)
        return { query, jid: jid ?? userJid(number), isOnWhatsApp: jid !== undefined }
      })
    }),
})
