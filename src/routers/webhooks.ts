// A session's webhook, as the contract knows it (its first webhook; /api/webhooks manages them all,
// webhook-endpoints.ts): GET/POST /api/webhook, GET /api/webhook/deliveries, POST
// /api/webhook/deliveries/{id}/redeliver and /api/webhook/deliveries/redeliver, POST /api/webhook/test.
import { z } from 'zod'
import { ApiError } from '../errors.js'
import { eventTypeSchema } from '../events/types.js'
import type { Session } from '../session/session.js'
import { deliveryCountsSchema, deliverySchema, deliveryStatuses, finishedStatuses } from '../webhooks/outbox.js'
import { router, sessionProcedure, withSession } from '../trpc.js'
import { jsonNumber } from './inputs.js'

const webhookUrl = z
  .union([z.literal(''), z.null(), z.url({ protocol: /^https?$/, message: 'expected an http:// or https:// URL' })])
  .transform((url) => (url === '' ? null : url))
  .describe('Where to POST events; null or "" turns webhooks off')

export const webhookStateSchema = deliveryCountsSchema.extend({
  url: z.string().nullable(),
  events: z.array(eventTypeSchema).nullable().describe('Event names delivered; null means all'),
  secretSet: z.boolean().describe('Whether deliveries are signed (X-Wsgo-Signature, X-Wsgo-Signature-V2); the secret itself is never shown'),
})

const deliveryId = z.string().min(1).max(100).describe('A delivery id: its X-Wsgo-Delivery header')

const redeliveredSchema = z.object({
  id: z.string(),
  previousStatus: z.enum(finishedStatuses),
  status: z.literal('pending'),
})

export const webhookChangeSchema = z.object({
  url: webhookUrl,
  events: z.array(eventTypeSchema).nullable().optional().describe('Only deliver these events (omit to keep, null for all)'),
  secret: z.string().max(512).nullable().optional().describe('HMAC secret for X-Wsgo-Signature and X-Wsgo-Signature-V2 (omit to keep, null to clear)'),
})
export type WebhookChange = z.infer<typeof webhookChangeSchema>

export async function webhookState(session: Session): Promise<z.infer<typeof webhookStateSchema>> {
  // The owner's settings are the live ones; elsewhere they are read afresh from the store.
  if (!session.isOwned) await session.webhooks.load()
  const first = session.webhooks.first
  if (!first) return { url: null, events: null, secretSet: session.webhooks.envSecretSet, pending: 0, delivered: 0, failed: 0, dead: 0 }
  const { settings } = first
  return { url: settings.url, events: settings.events, secretSet: settings.secret !== undefined, ...(await session.outbox.counts(first.id)) }
}

/** The contract's POST /api/webhook: changes the session's first webhook, made if there is none. */
export async function applyWebhookChange(session: Session, change: WebhookChange): Promise<void> {
  const value = {
    url: change.url,
    ...(change.events !== undefined && { events: change.events }),
    ...(change.secret !== undefined && { secret: change.secret === '' ? null : change.secret }),
  }
  const first = session.webhooks.first
  if (first) return first.settings.update(value)
  if (!(await session.webhooks.create(value))) throw new ApiError('CONFLICT', 'This session has as many webhooks as it can have')
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
        description:
          'The outbox: what is waiting, what was delivered (kept 7 days) and what was given up or refused for good (failed, dead: kept 30 days), with attempts and the last error. ' +
          'For the next (older) page pass `before` = the last id of this page.',
        tags: ['Webhooks'],
      },
      runsOn: 'any',
    })
    .input(
      withSession({
        status: z.enum(deliveryStatuses).optional().describe('Only deliveries in this state (pending includes those being sent now)'),
        limit: z.coerce.number().int().min(1).max(1000).default(100).describe('How many deliveries at most'),
        before: deliveryId.optional().describe('Only deliveries older than this one: the last id of the previous page'),
        webhook: z.string().min(1).max(100).optional().describe('Only those of this webhook (its id in GET /api/webhooks)'),
      }),
    )
    .output(z.array(deliverySchema))
    .query(async ({ ctx, input }) => {
      const { outbox } = ctx.session
      const beforeSeq = input.before === undefined ? undefined : await outbox.seqOf(input.before)
      if (input.before !== undefined && beforeSeq === undefined) {
        throw new ApiError('VALIDATION_ERROR', 'Invalid input: before', { issues: [{ path: 'before', message: 'no delivery of this session has this id (it may have been pruned)' }] })
      }
      return outbox.list({ status: input.status, limit: input.limit, beforeSeq, webhook: input.webhook })
    }),

  // On the owner: its worker is told at once that rows are due.
  redeliver: sessionProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/webhook/deliveries/{id}/redeliver',
        summary: 'Send a delivery again',
        description:
          'Puts a dead, failed or delivered delivery back in line with the same id (X-Wsgo-Delivery) and its place in the order: pending, due now, its attempts and age counted afresh. ' +
          'A delivery still pending or being sent is a 409; an unknown id a 404.',
        tags: ['Webhooks'],
      },
    })
    .input(withSession({ id: deliveryId }))
    .output(redeliveredSchema)
    .mutation(async ({ ctx, input }) => {
      const result = await ctx.session.outbox.redeliver(input.id, new Date())
      if ('error' in result) {
        if (result.error === 'missing') throw new ApiError('NOT_FOUND', `No webhook delivery ${input.id} in this session (it may have been pruned)`)
        throw new ApiError('CONFLICT', `Webhook delivery ${input.id} is already waiting for an attempt (pending or being sent)`)
      }
      ctx.session.webhooks.redelivered()
      return { id: input.id, previousStatus: result.from, status: 'pending' as const }
    }),

  redeliverMany: sessionProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/webhook/deliveries/redeliver',
        summary: 'Send many deliveries again',
        description:
          'Puts back in line, oldest first, the deliveries of one status (dead, failed or delivered) queued at or after `since`, at most `limit` per call (call again while `count` equals `limit`). ' +
          'Each keeps its id and its place in the order.',
        tags: ['Webhooks'],
      },
    })
    .input(
      withSession({
        status: z.enum(finishedStatuses).describe('Which deliveries: dead, failed or delivered'),
        since: z.iso.datetime({ offset: true, message: 'expected an ISO 8601 date-time, e.g. 2026-06-09T12:00:00Z' }).optional().describe('Only those queued at or after this time'),
        limit: jsonNumber(1, 10_000, { int: true }).default(1_000).describe('How many at most in this call'),
        webhook: z.string().min(1).max(100).optional().describe('Only those of this webhook (its id in GET /api/webhooks)'),
      }),
    )
    .output(z.object({ count: z.number().int().describe('How many were put back in line') }))
    .mutation(async ({ ctx, input }) => {
      const since = input.since === undefined ? undefined : new Date(input.since)
      const count = await ctx.session.outbox.redeliverMany({ status: input.status, since, webhook: input.webhook, limit: input.limit }, new Date())
      if (count > 0) ctx.session.webhooks.redelivered()
      return { count }
    }),

  test: sessionProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/webhook/test',
        summary: 'Send a test event to the webhook',
        description: 'Records a webhook_test event, delivered through the outbox like any other (whatever the events filter) to every webhook that is on; the answer names the first webhook\'s delivery. Follow it with GET /api/webhook/deliveries.',
        tags: ['Webhooks'],
      },
    })
    .input(withSession())
    .output(z.object({ deliveryId: z.string().describe('Its X-Wsgo-Delivery header, and its id in GET /api/webhook/deliveries') }))
    .mutation(async ({ ctx }) => {
      const { events, webhooks } = ctx.session
      if (!webhooks.first || webhooks.first.settings.url === null) throw new ApiError('CONFLICT', 'No webhook URL is set: set one with POST /api/webhook first')
      const recorded = await events.record('webhook_test', { message: 'Test delivery from wsgo-ts' })
      // The URL may have been cleared in the meantime; then nothing was queued.
      if (recorded.deliveryId === undefined) throw new ApiError('CONFLICT', 'The webhook was turned off meanwhile: nothing to deliver to')
      return { deliveryId: recorded.deliveryId }
    }),
})
