// Groups: GET /api/groups (sending to a group is POST /api/send/group in messages.ts).
import { z } from 'zod'
import { groupSchema } from '../session/shapes.js'
import { router, sessionProcedure, withSession } from '../trpc.js'

export const groupsRouter = router({
  list: sessionProcedure
    .meta({ openapi: { method: 'GET', path: '/api/groups', summary: 'All joined groups', tags: ['Groups'] } })
    .input(withSession())
    .output(z.array(groupSchema))
    .query(async ({ ctx }) => (await ctx.session.connection()).groups()),
})
