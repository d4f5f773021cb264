// The outbox statements made for every delivery, as plain SQL rather than through Prisma's query
// builder, which costs about twice the CPU per statement here (bench/RESULTS.md). Written so that
// SQLite (3.35+, for RETURNING) and PostgreSQL both accept them; dates go in as Date parameters,
// which the adapters store exactly as the query builder does.
import { z } from 'zod'
import type { Db } from '../store/database.js'

/** What the worker needs of a claimed row to send it and settle it. */
export const claimedRowSchema = z.object({
  seq: z.coerce.number().int(),
  id: z.string(),
  event: z.string(),
  payload: z.string(),
  attempts: z.coerce.number().int(),
  createdAt: z.coerce.date(),
})
export type ClaimedRow = z.infer<typeof claimedRowSchema>
const claimedRowsSchema = z.array(claimedRowSchema)

/**
 * Claims up to `limit` due rows, oldest first, in one statement (pending -> delivering). The
 * outer `status` test keeps the claim atomic: a row another claim took meanwhile is not returned.
 * Returned in `seq` order (RETURNING itself promises no order).
 */
export async function claimDue(db: Db, now: Date, limit: number): Promise<ClaimedRow[]> {
  const rows = await db.$queryRaw<unknown[]>`
    UPDATE "WebhookDelivery" SET "status" = 'delivering'
    WHERE "status" = 'pending' AND "seq" IN (
      SELECT "seq" FROM "WebhookDelivery" WHERE "status" = 'pending' AND "nextAttemptAt" <= ${now} ORDER BY "seq" LIMIT ${limit}
    )
    RETURNING "seq", "id", "event", "payload", "attempts", "createdAt"`
  return claimedRowsSchema.parse(rows).sort((a, b) => a.seq - b.seq)
}

/** Settles a successful attempt. */
export async function markDelivered(db: Db, seq: number, attempts: number, status: number, at: Date): Promise<void> {
  await db.$executeRaw`UPDATE "WebhookDelivery" SET "status" = 'delivered', "attempts" = ${attempts}, "lastStatus" = ${status}, "deliveredAt" = ${at} WHERE "seq" = ${seq}`
}
