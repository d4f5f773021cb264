// The tRPC instance every router is built from: context, OpenAPI meta, the key guards, the session a
// call acts on, and the error format. Procedures are public (health), admin (the sessions
// themselves), or session procedures (everything the wsgo contract defines), which act on one
// session: `default` on the contract's REST paths, the `{session}` of /api/sessions/{session}/...,
// or the `session` input of a tRPC call.
import { createHash, timingSafeEqual } from 'node:crypto'
import { initTRPC } from '@trpc/server'
import { middlewareMarker, type MiddlewareResult } from '@trpc/server/unstable-core-do-not-import'
import type { OpenApiMeta } from 'trpc-to-openapi'
import { z } from 'zod'
import { ApiError, describeError, validationError, type ErrorCode } from './errors.js'
import type { Services } from './services.js'
import { DEFAULT_SESSION, isSessionName, sessionNameSchema } from './session/names.js'
import { idempotencyKeyOf, runIdempotent } from './idempotency/middleware.js'

export interface Context {
  services: Services
  /** The API key the caller presented (X-API-Key header or api_key query), if any. */
  presentedKey: string | undefined
  /** The session a REST path names (`default` for the contract's paths); undefined over tRPC. */
  pathSession: string | undefined
  /** The call was forwarded by another process of the deployment, with the right secret. */
  forwarded: boolean
  /** The Idempotency-Key header of a REST call (tRPC calls give `idempotencyKey` in their input). */
  idempotencyKey?: string | undefined
}

/** Who is calling: the admin (API_KEY, or no key configured) or the holder of one session's key. */
export type Caller = { admin: true } | { admin: false; session: string }

export interface Meta extends OpenApiMeta {
  /**
   * Where a session procedure runs: 'owner' (the default) forwards it to the process that owns
   * the session; 'any' answers it in whichever process received it (reads of the store).
   */
  runsOn?: 'owner' | 'any'
  /**
   * The error codes this procedure raises itself, beyond those every procedure of its kind can
   * answer (src/http/openapi-errors.ts computes those): the OpenAPI document lists their statuses.
   */
  errors?: ErrorCode[]
  /** A whole request and response for the OpenAPI document, where field examples do not compose one. */
  examples?: { input?: unknown; output?: unknown }
  /** A send: an Idempotency-Key makes a retry answer the first result instead of sending again (src/idempotency). */
  idempotent?: boolean
}

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    isDev: false,
    // Subscriptions (events.onEvent) ping an idle stream, so proxies keep it open and the client
    // reconnects (resuming from the last event id) when the pings stop.
    sse: { ping: { enabled: true, intervalMs: 15_000 }, client: { reconnectAfterInactivityMs: 40_000 } },
    errorFormatter({ shape, error }) {
      const { body } = describeError(error)
      // Same sentence and code as the REST body; `issues` name the bad fields.
      return { ...shape, message: body.error, data: { ...shape.data, errorCode: body.code, issues: body.issues } }
    },
  })

const digest = (value: string) => createHash('sha256').update(value).digest()

/** Constant-time comparison: hashing first makes both sides the same length. */
export function keyMatches(presented: string | undefined, expected: string): boolean {
  return presented !== undefined && timingSafeEqual(digest(presented), digest(expected))
}

async function identify(ctx: Context): Promise<Caller> {
  const expected = ctx.services.config.API_KEY
  if (ctx.forwarded || expected === undefined || keyMatches(ctx.presentedKey, expected)) return { admin: true }
  const session = ctx.presentedKey === undefined ? undefined : await ctx.services.keys.sessionOf(ctx.presentedKey)
  if (session !== undefined) return { admin: false, session }
  throw new ApiError('UNAUTHORIZED', ctx.presentedKey === undefined ? 'API key required: send it in the X-API-Key header or the api_key query parameter' : 'Invalid API key')
}

const requireKey = t.middleware(async ({ ctx, next }) => next({ ctx: { caller: await identify(ctx) } }))

const requireAdmin = t.middleware(({ ctx, next }) => {
  const caller = (ctx as Context & { caller: Caller }).caller
  if (!caller.admin) throw new ApiError('FORBIDDEN', `This key reaches session "${caller.session}" only; this route needs the admin key (API_KEY)`)
  return next()
})

const sessionField = sessionNameSchema.optional().describe('The session to act on (default: default); REST names it in the path instead')

/**
 * A session procedure's input: its own fields plus the optional `session` of tRPC calls. Without
 * fields of its own the whole input is optional, so `status.query()` needs no argument.
 */
export function withSession(): z.ZodOptional<z.ZodObject<{ session: typeof sessionField }>>
export function withSession<S extends z.ZodRawShape>(shape: S): z.ZodObject<S & { session: typeof sessionField }>
export function withSession(shape?: z.ZodRawShape) {
  const schema = z.object({ ...shape, session: sessionField })
  return shape ? schema : schema.optional()
}

/**
 * Resolves the session a call acts on, checks the caller may reach it, and runs the call where the
 * session is owned: here, or forwarded to the owner (whose answer is returned as this call's).
 */
const onSession = t.middleware(async ({ ctx, meta, path, type, getRawInput, next }) => {
  const { services, forwarded } = ctx
  const caller = (ctx as Context & { caller: Caller }).caller
  // It runs before the procedure's input is parsed (a call is checked and routed first; the owner
  // parses it), so the session comes from the raw input.
  const raw = (await getRawInput()) as Record<string, unknown> | undefined
  const named = raw !== null && typeof raw === 'object' ? raw.session : undefined
  if (ctx.pathSession === undefined && named !== undefined && (typeof named !== 'string' || !isSessionName(named))) {
    throw validationError([{ path: 'session', message: sessionNameSchema.safeParse(named).error?.issues[0]?.message ?? 'expected a session name' }])
  }
  const name = ctx.pathSession ?? (named as string | undefined) ?? DEFAULT_SESSION
  if (!isSessionName(name)) throw new ApiError('NOT_FOUND', `No session named "${name}"`)
  if (!caller.admin && caller.session !== name) throw new ApiError('FORBIDDEN', `This key reaches session "${caller.session}" only, not "${name}"`)
  // Reads of the store: answered here, without waiting for start-up to finish.
  if (meta?.runsOn === 'any') return next({ ctx: { session: await services.sessions.get(name) } })
  const moving = () => new ApiError('SESSION_MOVING', `Session "${name}" is moving between processes: no process owns it right now; try again in a moment`)
  // A session changing hands (a process died or joined) has a new owner within the lease time:
  // a call meanwhile waits for it, here or at the process it was forwarded to, rather than fail.
  const deadline = Date.now() + 2 * services.config.WA_LEASE_TTL_MS + 2_000
  for (;;) {
    const route = await services.sessions.route(name, forwarded ? 0 : Math.max(0, deadline - Date.now()))
    if (route.kind === 'local') {
      const run = () => next({ ctx: { session: route.session } })
      // A send marked `idempotent` runs once per Idempotency-Key, here in the owner (src/idempotency).
      const key = meta?.idempotent ? idempotencyKeyOf(ctx, raw) : undefined
      if (key === undefined) return run()
      const outcome = await runIdempotent(services.idempotency, { session: name, key, path, input: raw, log: services.logger }, run)
      return 'replayed' in outcome ? ({ ok: true, data: outcome.replayed, marker: middlewareMarker } as MiddlewareResult<never>) : outcome.result
    }
    if (forwarded || route.kind === 'none') throw moving()
    if (type === 'subscription') throw new ApiError('CONFLICT', 'Subscriptions are not forwarded between processes')
    // The caller's key stays here: the hop carries the internal secret instead.
    const { api_key: _key, ...rest } = raw !== null && typeof raw === 'object' ? raw : {}
    // The owner keeps the Idempotency-Key's record: a REST header travels as the tRPC field.
    const idempotencyKey = meta?.idempotent ? idempotencyKeyOf(ctx, raw) : undefined
    try {
      const data = await services.forward.call(route.owner.url, path, type, { ...rest, session: name, ...(idempotencyKey !== undefined && { idempotencyKey }) }, name)
      // The owner validated the input and the output: its answer is this call's.
      return { ok: true, data, marker: middlewareMarker } as MiddlewareResult<never>
    } catch (error) {
      // It stopped owning the session before the call arrived, or died: ask again.
      const retry = error instanceof ApiError && error.errorCode === 'SESSION_MOVING'
      if (!retry || Date.now() >= deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
})

export const router = t.router
export const publicProcedure = t.procedure
export const protectedProcedure = t.procedure.use(requireKey)
export const adminProcedure = protectedProcedure.use(requireAdmin)
/** An admin procedure on one session (deleting it, its keys). */
export const adminSessionProcedure = adminProcedure.use(onSession)
export const sessionProcedure = protectedProcedure.use(onSession)
export const createCallerFactory = t.createCallerFactory
