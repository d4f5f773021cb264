import { z } from 'zod'
import { eventTypeSchema } from '../events/types.js'
import type { Services } from '../services.js'
import { deliveryCounts, deliveryCountsSchema } from '../webhooks/outbox.js'
import { protectedProcedure, router } from '../trpc.js'

const webhookUrl = z
  .union([z.literal(''), z.null(), z.url({ protocol: /^https?$/, message: 'expected an http:// or https:// URL' })])
  .transform((url) => (url === '' ? null : url))
  .describe('Where to POST events; null or "" turns webhooks off')

const webhookStateSchema = deliveryCountsSchema.extend({
  url: z.string().nullable(),
  events: z.array(eventTypeSchema).nullable().describe('Event names delivered; null means all'),
  secretSet: z.boolean().describe('Whether deliveries are signed (X-Wsgo-Signature); the secret itself is never shown'),
})

async function webhookState(services: Services): Promise<z.infer<typeof webhookStateSchema>> {
  const { webhookSettings: settings, db } = services
  return { url: settings.url, events: settings.events, secretSet: settings.secret !== undefined, ...(await deliveryCounts(db)) }
}

export const webhooksRouter = router({
  get: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/api/webhook', summary: 'Current webhook URL, filter and delivery counters', tags: ['Webhooks'] } })
    .input(z.void())
    .output(webhookStateSchema)
    .query(({ ctx }) => webhookState(ctx.services)),

  set: protectedProcedure
    .meta({ openapi: { method: 'POST', path: '/api/webhook', summary: 'Set the webhook URL for incoming messages and events', tags: ['Webhooks'] } })
    .input(
      z.object({
        url: webhookUrl,
        events: z.array(eventTypeSchema).nullable().optional().describe('Only deliver these events (omit to keep, null for all)'),
        secret: z.string().max(512).nullable().optional().describe('HMAC secret for X-Wsgo-Signature (omit to keep, null to clear)'),
      }),
    )
    .output(webhookStateSchema)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.webhookSettings.update({
        url: input.url,
        ...(input.events !== undefined && { events: input.events }),
        ...(input.secret !== undefined && { secret: input.secret === '' ? null : input.secret }),
      })
      return webhookState(ctx.services)
    }),
})
