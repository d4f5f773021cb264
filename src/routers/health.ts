// GET /health: `{"status":"ok"}` while the service can do its work. When the store cannot record
// events (full, read-only, unreachable, its file removed) it answers 503 STORE_UNAVAILABLE naming
// the cause, so a load balancer or an orchestrator sees it; it turns ok again on its own once the
// store's probe succeeds (src/store/store-health.ts).
import { z } from 'zod'
import { ApiError, storeUnavailableMessage } from '../errors.js'
import { publicProcedure, router } from '../trpc.js'

export const healthRouter = router({
  check: publicProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/health',
        summary: 'Health check',
        description: '`{"status":"ok"}`; 503 with code STORE_UNAVAILABLE and the cause while the database cannot record events.',
        tags: ['Connection'],
        protect: false,
      },
    })
    .input(z.void())
    .output(z.object({ status: z.literal('ok') }))
    .query(({ ctx }) => {
      const state = ctx.services.sessions.storeHealth.state
      if (state.status === 'degraded') {
        throw new ApiError('STORE_UNAVAILABLE', `${storeUnavailableMessage(state.fault.message)} (since ${state.since.toISOString()})`)
      }
      return { status: 'ok' as const }
    }),
})
