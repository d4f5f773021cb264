import { z } from 'zod'
import { loggedEventSchema } from '../events/types.js'
import { router, sessionProcedure, withSession } from '../trpc.js'

export const eventsRouter = router({
  list: sessionProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/events',
        summary: 'Recent events, newest first',
        description: 'The rolling log (newest 500 by default): messages, connections, disconnections, QR codes, logouts, webhook failures.',
        tags: ['Events'],
      },
      runsOn: 'any',
    })
    .input(
      withSession({
        limit: z.coerce.number().int().min(1).max(100_000).default(500).describe('How many events at most'),
        type: z.string().min(1).optional().describe('Only events of this type, e.g. message'),
      }),
    )
    .output(z.array(loggedEventSchema))
    .query(({ ctx, input }) => ctx.session.events.list(input)),
})
