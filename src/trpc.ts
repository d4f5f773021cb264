// The tRPC instance every router is built from: context, OpenAPI meta, the API-key guard and the
// error format. Procedures are either public (health) or protected (everything else).
import { createHash, timingSafeEqual } from 'node:crypto'
import { initTRPC } from '@trpc/server'
import type { OpenApiMeta } from 'trpc-to-openapi'
import { ApiError, describeError } from './errors.js'
import type { Services } from './services.js'

export interface Context {
  services: Services
  /** The API key the caller presented (X-API-Key header or api_key query), if any. */
  presentedKey: string | undefined
}

const t = initTRPC
  .context<Context>()
  .meta<OpenApiMeta>()
  .create({
    isDev: false,
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

const requireApiKey = t.middleware(({ ctx, next }) => {
  const expected = ctx.services.config.API_KEY
  if (expected !== undefined && !keyMatches(ctx.presentedKey, expected)) {
    throw new ApiError('UNAUTHORIZED', ctx.presentedKey === undefined ? 'API key required: send it in the X-API-Key header or the api_key query parameter' : 'Invalid API key')
  }
  return next()
})

export const router = t.router
export const publicProcedure = t.procedure
export const protectedProcedure = t.procedure.use(requireApiKey)
export const createCallerFactory = t.createCallerFactory
