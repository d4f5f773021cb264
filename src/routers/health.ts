import { z } from 'zod'
import { publicProcedure, router } from '../trpc.js'

export const healthRouter = router({
  check: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/health', summary: 'Health check', tags: ['Connection'], protect: false } })
    .input(z.void())
    .output(z.object({ status: z.literal('ok') }))
    .query(() => ({ status: 'ok' as const })),
})
