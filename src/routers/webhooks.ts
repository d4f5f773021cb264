import { z } from 'zod'
import { ApiError } from '../errors.js'
import { eventTypeSchema } from '../events/types.js'
import type { Services } from '../services.js'
import { deliveryCounts, deliveryCountsSchema, deliverySchema, deliveryStatuses, listDeliveries } from '../webhooks/outbox.js'
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

  deliveries: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/webhook/deliveries',
        summary: 'Recent webhook deliveries, newest first',
        description: 'The outbox: what is waiting, what was delivered (kept 7 days) and what was given up (kept 30 days), with attempts and the last error.',
        tags: ['Webhooks'],
      },
    })
    .input(
      z.object({
        status: z.enum(deliveryStatuses).optional().describe('Only deliveries in this state (pending includes those being sent now)'),
        limit: z.coerce.number().int().min(1).max(1000).default(100).describe('How many deliveries at most'),
      }),
    )
    .output(z.array(deliverySchema))
    .query(({ ctx, input }) => listDeliveries(ctx.services.db, input)),

  test: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/webhook/test',
        summary: 'Send a test event to the webhook',
        description: 'Records a webhook_test event, delivered through the outbox like any other (whatever the events filter); follow it with GET /api/webhook/deliveries.',
        tags: ['Webhooks'],
      },
    })
    .input(z.object({}).optional())
    .output(z.object({ deliveryId: z.string().describe('Its X-Wsgo-Delivery header, and its id in GET /api/webhook/deliveries') }))
    .mutation(async ({ ctx }) => {
      const { events, webhookSettings } = ctx.services
      if (webhookSettings.url === null) throw new ApiError('CONFLICT', 'No webhook URL is set: set one with POST /api/webhook first')
      const recorded = await events.record('webhook_test', { message: 'Test delivery from wsgo-ts' })
      // The URL may have been cleared in the meantime; then nothing was queued.
      if (recorded.deliveryId === undefined) throw new ApiError('CONFLICT', 'The webhook was turned off meanwhile: nothing to deliver to')
      return { deliveryId: recorded.deliveryId }
    }),
})
