// Sends that carry no file: POST /api/send/location, /api/send/contact, /api/send/poll.
// Procedures of the `messages` router.
import { z } from 'zod'
import { validationError } from '../errors.js'
import { buildVcard, nameInVcard } from '../session/outgoing/vcard.js'
import { sessionProcedure, withSession } from '../trpc.js'
import { jsonNumber, messageOptionFields, messageSentSchema, phoneSchema, targetFields } from './inputs.js'
import { chatOfRequest, sendFields, sendTo } from './send-common.js'

const contactCardSchema = z.object({
  name: z.string().trim().min(1).max(256).optional().describe('The name shown on the card'),
  phones: z.array(phoneSchema).min(1).max(10).optional().describe('Phone numbers; each links to its WhatsApp account'),
  organization: z.string().max(256).optional(),
  email: z.string().max(256).optional(),
  vcard: z.string().min(1).max(16_384).optional().describe('A vCard of your own instead of name and phones'),
})

export const contentSends = {
  sendLocation: sessionProcedure
    .meta({ idempotent: true, openapi: { method: 'POST', path: '/api/send/location', summary: 'Send a location', description: 'A pin at `latitude`, `longitude`, with an optional place `name` and `address`.', tags: ['Messaging'] } })
    .input(
      withSession({
        ...sendFields,
        latitude: jsonNumber(-90, 90).describe('Degrees, -90 to 90'),
        longitude: jsonNumber(-180, 180).describe('Degrees, -180 to 180'),
        name: z.string().max(256).optional().describe('The place\'s name, e.g. Plaza Mayor'),
        address: z.string().max(1024).optional(),
      }),
    )
    .output(messageSentSchema)
    .mutation(async ({ ctx, input }) => {
      const chat = chatOfRequest(input)
      return sendTo(await ctx.session.connection(), chat, input, {
        location: {
          degreesLatitude: input.latitude,
          degreesLongitude: input.longitude,
          ...(input.name && { name: input.name }),
          ...(input.address && { address: input.address }),
        },
      })
    }),

  sendContact: sessionProcedure
    .meta({
      idempotent: true,
      openapi: {
        method: 'POST',
        path: '/api/send/contact',
        summary: 'Send one or several contact cards',
        description: 'Each card is a `name` with `phones` (a vCard is built, with the WhatsApp links), or a `vcard` of your own.',
        tags: ['Messaging'],
      },
    })
    .input(
      withSession({
        ...sendFields,
        contacts: z.array(contactCardSchema).min(1, 'give at least one contact').max(20),
        display_name: z.string().max(256).optional().describe('Title of a message with several cards (default: "N contacts")'),
      }),
    )
    .output(messageSentSchema)
    .mutation(async ({ ctx, input }) => {
      const chat = chatOfRequest(input)
      const cards = input.contacts.map((card, i) => {
        if (card.vcard) {
          if (!/^BEGIN:VCARD/i.test(card.vcard.trim())) throw validationError([{ path: `contacts.${i}.vcard`, message: 'expected a vCard, starting with BEGIN:VCARD' }])
          return { displayName: card.name ?? nameInVcard(card.vcard) ?? 'Contact', vcard: card.vcard.trim() }
        }
        if (!card.name) throw validationError([{ path: `contacts.${i}.name`, message: 'required: the contact\'s name (or give a vcard)' }])
        if (!card.phones) throw validationError([{ path: `contacts.${i}.phones`, message: 'required: at least one phone number (or give a vcard)' }])
        return { displayName: card.name, vcard: buildVcard({ name: card.name, phones: card.phones, organization: card.organization, email: card.email }) }
      })
      const displayName = input.display_name ?? (cards.length === 1 ? cards[0]!.displayName : `${cards.length} contacts`)
      return sendTo(await ctx.session.connection(), chat, input, { contacts: { displayName, contacts: cards } })
    }),

  sendPoll: sessionProcedure
    .meta({
      idempotent: true,
      openapi: {
        method: 'POST',
        path: '/api/send/poll',
        summary: 'Send a poll',
        description:
          'A `question` with 2 to 12 distinct `options`; `selectable_count` says how many one person may choose (default 1; 0 means any number). A poll can quote (`reply_to`) a message this service sent; it takes no mentions.',
        tags: ['Messaging'],
      },
    })
    .input(
      withSession({
        // No mentions: WhatsApp has none in polls (and Baileys would put them outside the poll).
        ...targetFields,
        reply_to: messageOptionFields.reply_to,
        reply_to_sender: messageOptionFields.reply_to_sender,
        question: z.string().trim().min(1, 'the question is empty').max(255),
        options: z
          .array(z.string().trim().min(1, 'an option is empty').max(100))
          .min(2, 'give at least 2 options')
          .max(12, 'at most 12 options')
          .refine((options) => new Set(options).size === options.length, 'the options must differ from each other'),
        selectable_count: jsonNumber(0, 12, { int: true }).optional().describe('How many options one person may choose: 1 (default) to the number of options, or 0 for any number'),
      }),
    )
    .output(messageSentSchema)
    .mutation(async ({ ctx, input }) => {
      const chat = chatOfRequest(input)
      const selectableCount = input.selectable_count ?? 1
      if (selectableCount > input.options.length) {
        throw validationError([{ path: 'selectable_count', message: `at most the number of options (${input.options.length})` }])
      }
      return sendTo(await ctx.session.connection(), chat, input, { poll: { name: input.question, values: input.options, selectableCount } })
    }),
}
