// Reading the webhook outbox: counters and recent deliveries for the API. Rows are written by the
// event recorder (src/events/log.ts) and moved along by the delivery worker (worker.ts).
import { z } from 'zod'
import { isoTimestamp } from '../events/types.js'
import type { Db } from '../store/database.js'

export const deliveryStatuses = ['pending', 'delivering', 'delivered', 'failed'] as const
export type DeliveryStatus = (typeof deliveryStatuses)[number]

export const deliveryCountsSchema = z.object({
  pending: z.number().int().describe('Waiting for their first or next attempt (including those being sent now)'),
  delivered: z.number().int(),
  failed: z.number().int().describe('Given up: too old, or the webhook was turned off'),
})
export type DeliveryCounts = z.infer<typeof deliveryCountsSchema>

export async function deliveryCounts(db: Db): Promise<DeliveryCounts> {
  const groups = await db.webhookDelivery.groupBy({ by: ['status'], _count: { _all: true } })
  const count = (status: DeliveryStatus) => groups.find((g) => g.status === status)?._count._all ?? 0
  return { pending: count('pending') + count('delivering'), delivered: count('delivered'), failed: count('failed') }
}

export const deliverySchema = z
  .object({
    id: z.string().describe('The X-Wsgo-Delivery header: the same on every attempt'),
    event: z.string().describe('Event name, e.g. message'),
    status: z.enum(deliveryStatuses).describe('pending (waiting for an attempt), delivering (being sent now), delivered, or failed (given up)'),
    attempts: z.number().int().describe('HTTP attempts made so far'),
    lastStatus: z.number().int().nullable().describe("HTTP status of the last attempt's answer; null before the first, or after a network error or timeout"),
    lastError: z.string().nullable().describe('Why the last failed attempt failed (kept after a later success)'),
    nextAttemptAt: isoTimestamp.nullable().describe('When a pending delivery is tried next; null once delivered or failed'),
    createdAt: isoTimestamp,
    deliveredAt: isoTimestamp.nullable(),
  })
  .meta({ id: 'WebhookDelivery' })
export type Delivery = z.infer<typeof deliverySchema>

/** Recent deliveries, newest first. `pending` also matches deliveries being sent right now. */
export async function listDeliveries(db: Db, options: { status?: DeliveryStatus | undefined; limit: number }): Promise<Delivery[]> {
  const status = options.status === 'pending' ? { in: ['pending', 'delivering'] } : options.status
  const rows = await db.webhookDelivery.findMany({
    where: status === undefined ? {} : { status },
    orderBy: { seq: 'desc' },
    take: options.limit,
    omit: { payload: true },
  })
  return rows.map((row) => ({
    id: row.id,
    event: row.event,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    lastStatus: row.lastStatus,
    lastError: row.lastError,
    nextAttemptAt: row.status === 'pending' || row.status === 'delivering' ? row.nextAttemptAt.toISOString() : null,
    createdAt: row.createdAt.toISOString(),
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
  }))
}
