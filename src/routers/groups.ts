// Groups: GET /api/groups (sending to a group is POST /api/send/group in messages.ts).
import { z } from 'zod'
import { protectedProcedure, router } from '../trpc.js'

const groupSchema = z
  .object({
    jid: z.string(),
    name: z.string(),
    topic: z.string(),
    participants: z.number().int().describe('Number of participants'),
    createdAt: z.string().nullable().describe('ISO 8601 UTC'),
  })
  .meta({ id: 'Group' })

export const groupsRouter = router({
  list: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/api/groups', summary: 'All joined groups', tags: ['Groups'] } })
    .input(z.void())
    .output(z.array(groupSchema))
    .query(({ ctx }) => ctx.services.session.groups()),
})
