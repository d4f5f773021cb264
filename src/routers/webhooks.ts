// A session's webhook: GET/POST /api/webhook, GET /api/webhook/deliveries, POST /api/webhook/test.
import { z } from 'zod'
import { ApiError } from '../errors.js'
import { eventTypeSchema } from '../events/types.js'
import type { Session } from '../session/session.js'
import { deliveryCountsSchema, deliverySchema, deliveryStatuses } from '../webhooks/outbox.js'
import { router, sessionProcedure, withSession } from '../trpc.js'

const webhookUrl = z
  .union([z.literal(''), z.null(), z.url({ protocol: /^https?$/, message: 'expected an http:// or https:// URL' })])
  .transform((url) => (url === '' ? null : url))
  .describe('Where to POST events; null or "" turns webhooks off')

export const webhookStateSchema = deliveryCountsSchema.extend({
  url: z.string().nullable(),
  events: z.array(eventTypeSchema).nullable().describe('Event names delivered; null means all'),
  secretSet: z.boolean().describe('Whether deliveries are signed (X-Wsgo-Signature); the secret itself is never shown'),
})

export const webhookChangeSchema = z.object({
  url: webhookUrl,
  events: z.array(eventTypeSchema).nullable().optional().describe('Only deliver these events (omit to keep, null for all)'),
  secret: z.string().max(512).nullable().optional().describe('HMAC secret for X-Wsgo-Signature (omit to keep, null to clear)'),
})
export type WebhookChange = z.infer<typeof webhookChangeSchema>

export async function webhookState(session: Session): Promise<z.infer<typeof webhookStateSchema>> {
  // The owner's settings are the live ones; elsewhere they are read afresh from the store.
  if (!session.isOwned) await session.webhook.load()
  const { webhook, outbox } = session
  return { url: webhook.url, events: webhook.events, secretSet: webhook.secret !== undefined, ...(await outbox.counts()) }
}

export function applyWebhookChange(session: Session, change: WebhookChange): Promise<void> {
  return session.webhook.update({
    url: change.url,
    ...(change.events !== undefined && { events: change.events }),
    ...(change.secret !== undefined && { secret: change.secret === '' ? null : change.secret }),
  })
}

export const webhooksRouter = router({
  get: sessionProcedure
    .meta({ openapi: { method: 'GET', path: '/api/webhook', summary: 'Current webhook URL, filter and delivery counters', tags: ['Webhooks'] }, runsOn: 'any' })
    .input(withSession())
    .output(webhookStateSchema)
    .query(({ ctx }) => webhookState(ctx.session)),

  // On the owner: its delivery worker and event recorder hold the settings in memory.
  set: sessionProcedure
    .meta({ openapi: { method: 'POST', path: '/api/webhook', summary: 'Set the webhook URL for incoming messages and events', tags: ['Webhooks'] } })
    .input(withSession(webhookChangeSchema.shape))
    .output(webhookStateSchema)
    .mutation(async ({ ctx, input }) => {
      await applyWebhookChange(ctx.session, input)
      return webhookState(ctx.session)
    }),

  deliveries: sessionProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/webhook/deliveries',
        summary: 'Recent webhook deliveries, newest first',
        description: 'The outbox: what is waiting, what was delivered (kept 7 days) and what was given up (kept 30 days), with attempts and the last error.',
        tags: ['Webhooks'],
      },
      runsOn: 'any',
    })
    .input(
      withSession({
        status: z.enum(deliveryStatuses).optional().describe('Only deliveries in this state (pending includes those being sent now)'),
        limit: z.coerce.number().int().min(1).max(1000).default(100).describe('How many deliveries at most'),
      }),
    )
    .output(z.array(deliverySchema))
    .query(({ ctx, input }) => ctx.session.outbox.list(input)),

  test: sessionProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/webhook/test',
        summary: 'Send a test event to the webhook',
        description: 'Records a webhook_test event, delivered through the outbox like any other (whatever the events filter); follow it with GET /api/webhook/deliveries.',
        tags: ['Webhooks'],
      },
    })
    .input(withSession())
    .output(z.object({ deliveryId: z.string().describe('Its X-Wsgo-Delivery header, and its id in GET /api/webhook/deliveries') }))
    .mutation(async ({ ctx }) => {
      const { events, webhook } = ctx.session
      if (webhook.url === null) throw new ApiError('CONFLICT', 'No webhook URL is set: set one with POST /api/webhook first')
      const recorded = await events.record('webhook_test', { message: 'Test delivery from wsgo-ts' })
      // The URL may have been cleared in the meantime; then nothing was queued.
      if (recorded.deliveryId === undefined) throw new ApiError('CONFLICT', 'The webhook was turned off meanwhile: nothing to deliver to')
      return { deliveryId: recorded.deliveryId }
    }),
})
