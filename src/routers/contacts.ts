// Contacts: GET /api/contacts, POST /api/check-phone.
import { z } from 'zod'
import { validationError } from '../errors.js'
import { contactSchema } from '../session/shapes.js'
import { router, sessionProcedure, withSession } from '../trpc.js'
import { normalizePhone, PHONE_RULE, userJid } from './inputs.js'

export const MAX_PHONES_PER_CHECK = 50

export const contactsRouter = router({
  list: sessionProcedure
    .meta({ openapi: { method: 'GET', path: '/api/contacts', summary: 'Contacts known to the device', tags: ['Contacts'] }, runsOn: 'any' })
    .input(withSession())
    .output(z.array(contactSchema))
    .query(({ ctx }) => ctx.session.contacts()),

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
