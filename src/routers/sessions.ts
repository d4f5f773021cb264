// The sessions themselves: GET/POST /api/sessions, GET/DELETE /api/sessions/{session}, and the
// session keys at /api/sessions/{session}/keys. Every other operation is also reachable per session
// at /api/sessions/{session}/... (see src/http/session-paths.ts), from the same procedures.
import { z } from 'zod'
import { ApiError } from '../errors.js'
import { isoTimestamp } from '../events/types.js'
import { sessionKeySchema } from '../session/keys.js'
import { sessionNameSchema } from '../session/names.js'
import { stateSchema, type SessionStatus } from '../session/shapes.js'
import { adminProcedure, adminSessionProcedure, router, sessionProcedure, type Context } from '../trpc.js'
import { statusWherever } from './session.js'
import { applyWebhookChange, webhookChangeSchema } from './webhooks.js'

export const sessionSummarySchema = z
  .object({
    name: z.string(),
    createdAt: isoTimestamp,
    state: stateSchema,
    loggedIn: z.boolean(),
    device: z.string().describe('The linked device\'s JID ("" before pairing)'),
    pushName: z.string(),
    owner: z.string().nullable().describe('The process that holds its WhatsApp connection (several processes share one PostgreSQL); null while it moves'),
  })
  .meta({ id: 'Session' })
type SessionSummary = z.infer<typeof sessionSummarySchema>

const TAGS = ['Sessions']

async function summary(ctx: Context, name: string, createdAt: Date): Promise<SessionSummary> {
  const { sessions } = ctx.services
  const status = await statusWherever(ctx.services, name, ctx.forwarded).catch((): SessionStatus => ({ connected: false, loggedIn: false, device: '', pushName: '', platform: '', state: 'standby', lastDisconnect: null }))
  return {
    name,
    createdAt: createdAt.toISOString(),
    state: status.state,
    loggedIn: status.loggedIn,
    device: status.device,
    pushName: status.pushName,
    owner: sessions.ownership.ownerOf(name)?.node ?? null,
  }
}

const pageInput = {
  limit: z.coerce.number().int().min(1).max(100).default(50).describe('How many at most'),
  after: z.string().optional().describe('Continue after this one (the previous page\'s `next`)'),
}

export const sessionsRouter = router({
  list: adminProcedure
    .meta({ openapi: { method: 'GET', path: '/api/sessions', summary: 'All sessions (linked WhatsApp accounts) with their state', tags: TAGS } })
    .input(z.object(pageInput).optional())
    .output(z.object({ sessions: z.array(sessionSummarySchema), next: z.string().nullable().describe('Pass as `after` for the next page; null on the last') }))
    .query(async ({ ctx, input }) => {
      const { limit, after } = { limit: 50, ...input }
      const rows = await ctx.services.sessions.list({ limit, after })
      return {
        sessions: await Promise.all(rows.map((row) => summary(ctx, row.name, row.createdAt))),
        next: rows.length === limit ? rows.at(-1)!.name : null,
      }
    }),

  create: adminProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/sessions',
        summary: 'Create a session',
        description: 'A new session shows a QR code to pair (GET /api/sessions/{session}/qr) within a moment. Give `webhook` to set its webhook at once.',
        tags: TAGS,
      },
    })
    .input(z.object({ name: sessionNameSchema, webhook: webhookChangeSchema.optional().describe('The session\'s webhook, as POST /api/webhook takes it') }))
    .output(sessionSummarySchema)
    .mutation(async ({ ctx, input }) => {
      const session = await ctx.services.sessions.create(input.name, async (created) => {
        if (input.webhook) await applyWebhookChange(created, input.webhook)
      })
      return summary(ctx, session.name, await ctx.services.sessions.createdAt(session.name))
    }),

  get: sessionProcedure
    .meta({ openapi: { method: 'GET', path: '/api/sessions/{session}', summary: 'One session and its state', tags: TAGS }, runsOn: 'any' })
    .input(z.object({ session: sessionNameSchema }))
    .output(sessionSummarySchema)
    .query(async ({ ctx, input }) => summary(ctx, input.session, await ctx.services.sessions.createdAt(input.session))),

  delete: adminSessionProcedure
    .meta({
      openapi: {
        method: 'DELETE',
        path: '/api/sessions/{session}',
        summary: 'Delete a session',
        description: 'Logs the device out of WhatsApp, stops the session and wipes everything stored for it. `default` cannot be deleted.',
        tags: TAGS,
      },
    })
    .input(z.object({ session: sessionNameSchema }))
    .output(z.object({ status: z.literal('deleted'), name: z.string() }))
    .mutation(async ({ ctx, input }) => {
      await ctx.services.sessions.delete(input.session)
      return { status: 'deleted' as const, name: input.session }
    }),

  createKey: adminSessionProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/sessions/{session}/keys',
        summary: 'Make a key for this session only',
        description: 'The key is returned this once; only its hash is stored. It reaches this session\'s routes and no others.',
        tags: TAGS,
      },
      runsOn: 'any',
    })
    .input(z.object({ session: sessionNameSchema }))
    .output(sessionKeySchema.extend({ key: z.string().describe('Send it as X-API-Key; it cannot be shown again') }))
    .mutation(({ ctx, input }) => ctx.services.keys.create(input.session)),

  listKeys: adminSessionProcedure
    .meta({ openapi: { method: 'GET', path: '/api/sessions/{session}/keys', summary: 'The session\'s keys (ids and creation dates, never the keys)', tags: TAGS }, runsOn: 'any' })
    .input(z.object({ session: sessionNameSchema, ...pageInput }))
    .output(z.array(sessionKeySchema))
    .query(({ ctx, input }) => ctx.services.keys.list(input.session, { limit: input.limit, after: input.after })),

  revokeKey: adminSessionProcedure
    .meta({ openapi: { method: 'DELETE', path: '/api/sessions/{session}/keys/{id}', summary: 'Revoke a session key', tags: TAGS }, runsOn: 'any' })
    .input(z.object({ session: sessionNameSchema, id: z.string().min(1).max(100) }))
    .output(z.object({ status: z.literal('revoked'), id: z.string() }))
    .mutation(async ({ ctx, input }) => {
      if (!(await ctx.services.keys.revoke(input.session, input.id))) throw new ApiError('NOT_FOUND', `Session "${input.session}" has no key with id "${input.id}"`)
      return { status: 'revoked' as const, id: input.id }
    }),
})


