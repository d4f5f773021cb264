// A session's webhooks, all of them: POST/GET /api/webhooks, GET/PATCH/DELETE /api/webhooks/{id}. Each
// has its URL, event filter, secret and on/off state, its own outbox rows and worker; the first is
// the contract's /api/webhook (webhooks.ts).
import { z } from 'zod'
import { ApiError } from '../errors.js'
import { eventTypeSchema } from '../events/types.js'
import type { Session } from '../session/session.js'
import { deliveryCountsSchema } from '../webhooks/outbox.js'
import { MAX_WEBHOOKS, type WebhookEndpoint } from '../webhooks/session-webhooks.js'
import { isoTimestamp } from '../events/types.js'
import { router, sessionProcedure, withSession } from '../trpc.js'
import { jsonBoolean } from './inputs.js'

const TAGS = ['Webhooks']

const url = z.url({ protocol: /^https?$/, message: 'expected an http:// or https:// URL' }).max(2048)
const events = z.array(eventTypeSchema).max(64).nullable().describe('Only deliver these events; null for all')
const secret = z.string().min(1).max(512).nullable().describe('HMAC secret for X-Wsgo-Signature and X-Wsgo-Signature-V2; null: WEBHOOK_SECRET if set, else unsigned')
const enabled = jsonBoolean().describe('Off: nothing new is queued and the backlog waits (kept) until it is on again')
const webhookId = z.string().min(1).max(100).describe('The webhook\'s id')

export const webhookSchema = deliveryCountsSchema
  .extend({
    id: z.string(),
    url: z.string().nullable().describe('null after a 410 Gone turned it off (its backlog is kept for the next URL)'),
    events: z.array(eventTypeSchema).nullable(),
    secretSet: z.boolean().describe('Whether its deliveries are signed; the secret itself is never shown'),
    enabled: z.boolean(),
    first: z.boolean().describe('The first webhook: the one POST/GET /api/webhook act on'),
    createdAt: isoTimestamp,
  })
  .meta({ id: 'Webhook' })
export type WebhookView = z.infer<typeof webhookSchema>

async function viewOf(session: Session, endpoint: WebhookEndpoint): Promise<WebhookView> {
  const { settings } = endpoint
  return {
    id: endpoint.id,
    url: settings.url,
    events: settings.events,
    secretSet: settings.secret !== undefined,
    enabled: settings.enabled,
    first: session.webhooks.first?.id === endpoint.id,
    createdAt: settings.createdAt.toISOString(),
    ...(await session.outbox.counts(endpoint.id)),
  }
}

/** The webhook, read afresh unless this process owns the session (then its memory is the truth). */
async function find(session: Session, id: string): Promise<WebhookEndpoint> {
  if (!session.isOwned) await session.webhooks.load()
  const endpoint = session.webhooks.get(id)
  if (!endpoint) throw new ApiError('NOT_FOUND', `No webhook ${id} in this session`)
  return endpoint
}

export const webhookEndpointsRouter = router({
  // Changes run on the owner: its workers and recorder hold the webhooks in memory.
  create: sessionProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/webhooks',
        summary: 'Add a webhook',
        description: `Each webhook gets the events it asks for, signed with its own secret, from its own queue: one that is down or refusing holds nothing of another's. At most ${MAX_WEBHOOKS} per session.`,
        tags: TAGS,
      },
    })
    .input(withSession({ url, events: events.optional(), secret: secret.optional(), enabled: enabled.optional() }))
    .output(webhookSchema)
    .mutation(async ({ ctx, input }) => {
      const created = await ctx.session.webhooks.create({
        url: input.url,
        ...(input.events !== undefined && { events: input.events }),
        ...(input.secret !== undefined && { secret: input.secret }),
        ...(input.enabled !== undefined && { enabled: input.enabled }),
      })
      if (!created) throw new ApiError('CONFLICT', `This session has ${MAX_WEBHOOKS} webhooks already, the most it can have: delete one first`)
      return viewOf(ctx.session, created)
    }),

  list: sessionProcedure
    .meta({ openapi: { method: 'GET', path: '/api/webhooks', summary: 'The session\'s webhooks, first first', tags: TAGS }, runsOn: 'any' })
    .input(withSession())
    .output(z.array(webhookSchema).max(MAX_WEBHOOKS))
    .query(async ({ ctx }) => {
      if (!ctx.session.isOwned) await ctx.session.webhooks.load()
      return Promise.all(ctx.session.webhooks.all.map((endpoint) => viewOf(ctx.session, endpoint)))
    }),

  get: sessionProcedure
    .meta({ openapi: { method: 'GET', path: '/api/webhooks/{id}', summary: 'One webhook, with its delivery counters', tags: TAGS }, runsOn: 'any' })
    .input(withSession({ id: webhookId }))
    .output(webhookSchema)
    .query(async ({ ctx, input }) => viewOf(ctx.session, await find(ctx.session, input.id))),

  update: sessionProcedure
    .meta({
      openapi: {
        method: 'PATCH',
        path: '/api/webhooks/{id}',
        summary: 'Change a webhook',
        description: 'Only the fields given change. A new URL starts afresh (what waits is due at once); `enabled: false` pauses it, keeping its backlog.',
        tags: TAGS,
      },
    })
    .input(withSession({ id: webhookId, url: url.optional(), events: events.optional(), secret: secret.optional(), enabled: enabled.optional() }))
    .output(webhookSchema)
    .mutation(async ({ ctx, input }) => {
      const endpoint = await find(ctx.session, input.id)
      await endpoint.settings.update({
        // A PATCH without a URL keeps the current one, or the one a 410 took away is still gone.
        ...(input.url !== undefined ? { url: input.url } : { gone: endpoint.settings.gone }),
        ...(input.events !== undefined && { events: input.events }),
        ...(input.secret !== undefined && { secret: input.secret }),
        ...(input.enabled !== undefined && { enabled: input.enabled }),
      })
      return viewOf(ctx.session, endpoint)
    }),

  remove: sessionProcedure
    .meta({
      openapi: {
        method: 'DELETE',
        path: '/api/webhooks/{id}',
        summary: 'Delete a webhook',
        description: 'Its deliveries, waiting or done, go with it. If it was the first, the next becomes the one /api/webhook acts on.',
        tags: TAGS,
      },
    })
    .input(withSession({ id: webhookId }))
    .output(z.object({ id: z.string(), deleted: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      if (!(await ctx.session.webhooks.remove(input.id))) throw new ApiError('NOT_FOUND', `No webhook ${input.id} in this session`)
      return { id: input.id, deleted: true as const }
    }),
})
