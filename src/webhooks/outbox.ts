// Reading the webhook outbox: counters and recent deliveries for the API. Rows are written by the
// event recorder (src/events/log.ts) and moved along by the delivery worker (worker.ts).
import { z } from 'zod'
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
