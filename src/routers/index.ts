// The root router. Its type is the whole API contract for TypeScript clients:
//   import type { AppRouter } from 'wsgo-ts/client'
import { router } from '../trpc.js'
import { eventsRouter } from './events.js'
import { healthRouter } from './health.js'
import { webhooksRouter } from './webhooks.js'

export const appRouter = router({
  health: healthRouter,
  events: eventsRouter,
  webhook: webhooksRouter,
})

export type AppRouter = typeof appRouter
