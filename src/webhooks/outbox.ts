// The webhook outbox of one session: every statement on the WebhookDelivery table lives here. Rows
// are written by the event recorder (src/events/log.ts, through insertStatement(), in the same
// transaction as their event), one per webhook that wants the event; claimed and settled by that
// webhook's delivery worker (worker.ts) through an Outbox bound to it (forWebhook), so a receiver
// that is down holds only its own rows; and read by the API (counts, list, redeliver).
//
// The statements made for every delivery (insert, claim, settle) are plain SQL rather than Prisma's
// query builder, which costs about twice the CPU per statement here (bench/RESULTS.md). They are
// written so that SQLite (3.35+, for RETURNING) and PostgreSQL both accept them; dates go in as Date
// parameters, which the adapters store exactly as the query builder does.
import { setImmediate as nextTurn } from 'node:timers/promises'
import { z } from 'zod'
import type { NewDelivery, OutboxRow, OutboxTable, OutboxTarget } from '../events/log.js'
import { isoTimestamp } from '../events/types.js'
import { rawSqlOf, sqlFragment, sqlList, type Db, type Sql } from '../store/database.js'

export const deliveryStatuses = ['pending', 'delivering', 'delivered', 'failed', 'dead'] as const
export type DeliveryStatus = (typeof deliveryStatuses)[number]
/** What a redeliver puts back in line: a delivery that is no longer waiting for an attempt. */
export const finishedStatuses = ['delivered', 'failed', 'dead'] as const
export type FinishedStatus = (typeof finishedStatuses)[number]

/** What the worker needs of a claimed row to send it and settle it. */
export const claimedRowSchema = z.object({
  seq: z.coerce.number().int(),
  id: z.string(),
  event: z.string(),
  payload: z.string(),
  attempts: z.coerce.number().int(),
  createdAt: z.coerce.date(),
})
export type ClaimedRow = OutboxRow
claimedRowSchema satisfies z.ZodType<ClaimedRow, unknown>
const claimedRowsSchema = z.array(claimedRowSchema)

export const deliveryCountsSchema = z.object({
  pending: z.number().int().describe('Waiting for their first or next attempt (including those being sent now)'),
  delivered: z.number().int(),
  failed: z.number().int().describe('Given up: too old (and tried at least once), or the webhook URL was cleared'),
  dead: z.number().int().describe('Refused for good by the receiver (a 4xx other than 408, 409, 410, 425, 429) a few times in a row'),
})
export type DeliveryCounts = z.infer<typeof deliveryCountsSchema>

export const deliverySchema = z
  .object({
    id: z.string().describe('The X-Wsgo-Delivery header: the same on every attempt'),
    webhook: z.string().describe('The id of the webhook it goes to (GET /api/webhooks)'),
    event: z.string().describe('Event name, e.g. message'),
    status: z
      .enum(deliveryStatuses)
      .describe('pending (waiting for an attempt), delivering (being sent now, or next in line to be sent), delivered, failed (given up), or dead (refused for good by the receiver)'),
    attempts: z.number().int().describe('HTTP attempts made so far'),
    lastStatus: z.number().int().nullable().describe("HTTP status of the last attempt's answer; null before the first, or after a network error or timeout"),
    lastError: z.string().nullable().describe('Why the last failed attempt failed (kept after a later success)'),
    nextAttemptAt: isoTimestamp.nullable().describe('When a pending delivery is tried next; null once delivered or failed'),
    createdAt: isoTimestamp.describe('When the delivery was queued: its event, or its last redeliver'),
    deliveredAt: isoTimestamp.nullable(),
  })
  .meta({ id: 'WebhookDelivery' })
export type Delivery = z.infer<typeof deliverySchema>

/** Deliveries written as delivered in one go at most (see markDelivered). */
const MAX_SETTLED_TOGETHER = 256

interface SettledDelivery {
  seq: number
  attempts: number
  status: number
  at: Date
  resolve(): void
  reject(error: unknown): void
}

export class Outbox implements OutboxTable {
  /** The rows this outbox acts on: the session's, or one webhook's. */
  private readonly scope: { session: string; webhook?: string }
  /** Answered, waiting to be written as delivered (see markDelivered). */
  private readonly delivered: SettledDelivery[] = []
  private writingDelivered: Promise<void> | undefined

  constructor(
    private readonly db: Db,
    readonly session: string,
    /** Bound to one webhook (its worker's outbox), or undefined for the whole session's (the API's). */
    readonly webhook?: string,
  ) {
    this.scope = { session, ...(webhook !== undefined && { webhook }) }
  }

  /** The same outbox, bound to one webhook's rows: what its worker claims and settles. */
  forWebhook(webhook: string): Outbox {
    return new Outbox(this.db, this.session, webhook)
  }

  private get boundWebhook(): string {
    if (this.webhook === undefined) throw new Error('this outbox is not bound to a webhook')
    return this.webhook
  }

  /**
   * The INSERT of new rows (one statement however many), to run in their events' transaction; it
   * returns their `seq`s, in no particular order (ascending, they are the rows in the given order).
   */
  insertStatement(rows: readonly NewDelivery[]): Sql {
    const values = rows.map((row) => sqlFragment`(${this.session}, ${row.webhook}, ${row.id}, ${row.event}, ${row.payload}, ${row.status}, ${row.createdAt}, ${row.createdAt})`)
    return sqlFragment`
      INSERT INTO "WebhookDelivery" ("session", "webhook", "id", "event", "payload", "status", "createdAt", "nextAttemptAt")
      VALUES ${sqlList(values)} RETURNING "seq"`
  }

  /** A webhook was deleted: its rows go with it. */
  async deleteWebhookRows(webhook: string): Promise<number> {
    const { count } = await this.db.webhookDelivery.deleteMany({ where: { session: this.session, webhook } })
    return count
  }

  /**
   * Claims up to `limit` due rows, oldest first, in one statement (pending -> delivering). The
   * outer `status` test keeps the claim atomic: a row another claim took meanwhile is not returned.
   * Returned in `seq` order (RETURNING itself promises no order).
   */
  async claimDue(now: Date, limit: number): Promise<ClaimedRow[]> {
    const rows = await rawSqlOf(this.db).query(sqlFragment`
      UPDATE "WebhookDelivery" SET "status" = 'delivering'
      WHERE "status" = 'pending' AND "seq" IN (
        SELECT "seq" FROM "WebhookDelivery"
        WHERE "session" = ${this.session} AND "webhook" = ${this.boundWebhook} AND "status" = 'pending' AND "nextAttemptAt" <= ${now} ORDER BY "seq" LIMIT ${limit}
      )
      RETURNING "seq", "id", "event", "payload", "attempts", "createdAt"`)
    return claimedRowsSchema.parse(rows).sort((a, b) => a.seq - b.seq)
  }

  /** The oldest pending row (the backoff probe's candidate). */
  head(): Promise<{ seq: number; nextAttemptAt: Date } | null> {
    return this.db.webhookDelivery.findFirst({ where: { ...this.scope, status: 'pending' }, orderBy: { seq: 'asc' }, select: { seq: true, nextAttemptAt: true } })
  }

  /** Claims one row if it is still pending. */
  async claimOne(seq: number): Promise<ClaimedRow | undefined> {
    const [row] = await this.db.webhookDelivery.updateManyAndReturn({ where: { seq, ...this.scope, status: 'pending' }, data: { status: 'delivering' } })
    return row
  }

  /** Rows left 'delivering' (by a process that died, or before a handover) are pending again. */
  async requeueInterrupted(): Promise<number> {
    const { count } = await this.db.webhookDelivery.updateMany({ where: { ...this.scope, status: 'delivering' }, data: { status: 'pending' } })
    return count
  }

  /** Whether a pending row has been tried before: the receiver was failing. */
  async isRetrying(): Promise<boolean> {
    return (await this.db.webhookDelivery.findFirst({ where: { ...this.scope, status: 'pending', attempts: { gt: 0 } }, select: { seq: true } })) !== null
  }

  /** Claimed rows that will not be sent now: pending again (not counted as an attempt). */
  async unclaim(seqs: number[]): Promise<void> {
    if (seqs.length > 0) await this.db.webhookDelivery.updateMany({ where: { seq: { in: seqs }, status: 'delivering' }, data: { status: 'pending' } })
  }

  /**
   * Group settle: the deliveries answered in one turn of the event loop, and those answered while
   * earlier ones are being written, go together, one statement for those with the same attempt
   * count and status (in a burst, all of them). Alone, a delivery is written at the end of its turn.
   * `deliveredAt` of a group is the latest answer in it: within the few milliseconds of one write.
   */
  markDelivered(seq: number, attempts: number, status: number, at: Date): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.delivered.push({ seq, attempts, status, at, resolve, reject })
      // The first waits for the end of this turn of the event loop: the deliveries answered in it go together.
      this.writingDelivered ??= nextTurn().then(() => this.writeDelivered())
    })
  }

  private async writeDelivered(): Promise<void> {
    try {
      while (this.delivered.length > 0) {
        const batch = this.delivered.splice(0, MAX_SETTLED_TOGETHER)
        const groups = new Map<string, SettledDelivery[]>()
        for (const each of batch) {
          const key = `${each.attempts}/${each.status}`
          const group = groups.get(key)
          if (group) group.push(each)
          else groups.set(key, [each])
        }
        const statements = [...groups.values()].map((group) => {
          const { attempts, status } = group[0]!
          const at = new Date(Math.max(...group.map((each) => each.at.getTime())))
          const seqs = sqlList(group.map((each) => each.seq))
          return sqlFragment`UPDATE "WebhookDelivery" SET "status" = 'delivered', "attempts" = ${attempts}, "lastStatus" = ${status}, "deliveredAt" = ${at} WHERE "seq" IN (${seqs})`
        })
        try {
          await rawSqlOf(this.db).executeAll(statements)
          for (const each of batch) each.resolve()
        } catch (error) {
          for (const each of batch) each.reject(error)
        }
      }
    } finally {
      this.writingDelivered = undefined
    }
  }

  async markFailed(seq: number, failure: { attempts: number; lastStatus: number | null; lastError: string }): Promise<void> {
    await this.db.webhookDelivery.updateMany({ where: { seq }, data: { status: 'failed', ...failure } })
  }

  /** Refused for good: kept, with the receiver's status and answer, until someone redelivers it. */
  async markDead(seq: number, failure: { attempts: number; lastStatus: number | null; lastError: string }): Promise<void> {
    await this.db.webhookDelivery.updateMany({ where: { seq }, data: { status: 'dead', ...failure } })
  }

  async retryLater(seq: number, nextAttemptAt: Date, failure: { attempts: number; lastStatus: number | null; lastError: string }): Promise<void> {
    await this.db.webhookDelivery.updateMany({ where: { seq }, data: { status: 'pending', nextAttemptAt, ...failure } })
  }

  /** Every pending row is due now (the receiver answers again, or a new URL was set). */
  async makePendingDue(now: Date): Promise<void> {
    await this.db.webhookDelivery.updateMany({ where: { ...this.scope, status: 'pending', nextAttemptAt: { gt: now } }, data: { nextAttemptAt: now } })
  }

  /** The URL was cleared: what is still pending is given up. */
  async dropPending(reason: string): Promise<number> {
    const { count } = await this.db.webhookDelivery.updateMany({ where: { ...this.scope, status: 'pending' }, data: { status: 'failed', lastError: reason } })
    return count
  }

  /**
   * Pending rows created before `cutoff` that were tried at least once, oldest first, in pages. A
   * row never tried is not among them: it gets its attempt first (worker.ts).
   */
  expiredPending(cutoff: Date, take: number) {
    return this.db.webhookDelivery.findMany({
      where: { ...this.scope, status: 'pending', attempts: { gt: 0 }, createdAt: { lt: cutoff } },
      orderBy: { seq: 'asc' },
      take,
      select: { seq: true, id: true, event: true, attempts: true, lastError: true },
    })
  }

  /** Gives a row up unless the worker claimed it meanwhile; whether it did. */
  async expire(seq: number, lastError: string): Promise<boolean> {
    const { count } = await this.db.webhookDelivery.updateMany({ where: { seq, status: 'pending' }, data: { status: 'failed', lastError } })
    return count === 1
  }

  /** Keeps rows of a final status bounded: older than `keepMs` go, and all but the newest `keep`. */
  async prune(status: FinishedStatus, keepMs: number, keep: number): Promise<number> {
    const where = { ...this.scope, status }
    const old = await this.db.webhookDelivery.deleteMany({ where: { ...where, createdAt: { lt: new Date(Date.now() - keepMs) } } })
    // The newest `keep` stay: find the first row beyond them and delete from there down.
    const boundary = await this.db.webhookDelivery.findFirst({ where, orderBy: { seq: 'desc' }, skip: keep, select: { seq: true } })
    const surplus = boundary ? await this.db.webhookDelivery.deleteMany({ where: { ...where, seq: { lte: boundary.seq } } }) : { count: 0 }
    return old.count + surplus.count
  }

  /** By status: this outbox's rows, or one webhook's (`webhook`). */
  async counts(webhook?: string): Promise<DeliveryCounts> {
    const groups = await this.db.webhookDelivery.groupBy({ by: ['status'], where: { ...this.scope, ...(webhook !== undefined && { webhook }) }, _count: { _all: true } })
    const count = (status: DeliveryStatus) => groups.find((g) => g.status === status)?._count._all ?? 0
    return { pending: count('pending') + count('delivering'), delivered: count('delivered'), failed: count('failed'), dead: count('dead') }
  }

  /**
   * The oldest delivery still waiting (pending or being sent), for an outbox depth/lag gauge:
   * null when none waits. One indexed read.
   */
  async oldestWaiting(): Promise<Date | null> {
    const row = await this.db.webhookDelivery.findFirst({
      where: { ...this.scope, status: { in: ['pending', 'delivering'] } },
      orderBy: { seq: 'asc' },
      select: { createdAt: true },
    })
    return row?.createdAt ?? null
  }

  /**
   * Puts one finished delivery back in line with the same id and its place in the order (its seq):
   * pending, due now, its attempts counted afresh and its age too (createdAt), so that an old
   * delivery gets its retries rather than being given up at its first failure. Returns what it
   * was, or why it could not: `missing` (no such delivery in this session) or `waiting` (it is
   * pending or being sent already).
   */
  async redeliver(id: string, now: Date): Promise<{ from: FinishedStatus; webhook: string } | { error: 'missing' | 'waiting' }> {
    const row = await this.db.webhookDelivery.findFirst({ where: { ...this.scope, id }, select: { seq: true, status: true, webhook: true } })
    if (!row) return { error: 'missing' }
    const from = finishedStatuses.find((status) => status === row.status)
    if (!from) return { error: 'waiting' }
    // The status test keeps it atomic against another redeliver (or a prune) meanwhile.
    const { count } = await this.db.webhookDelivery.updateMany({ where: { seq: row.seq, status: from }, data: this.requeued(now) })
    return count === 1 ? { from, webhook: row.webhook } : { error: 'waiting' }
  }

  /**
   * Puts back in line, oldest first, up to `limit` finished deliveries of one status queued at or
   * after `since` (all when not given); returns how many.
   */
  async redeliverMany(options: { status: FinishedStatus; since?: Date | undefined; webhook?: string | undefined; limit: number }, now: Date): Promise<number> {
    const rows = await this.db.webhookDelivery.findMany({
      where: { ...this.scope, status: options.status, ...(options.webhook !== undefined && { webhook: options.webhook }), ...(options.since && { createdAt: { gte: options.since } }) },
      orderBy: { seq: 'asc' },
      take: options.limit,
      select: { seq: true },
    })
    if (rows.length === 0) return 0
    const { count } = await this.db.webhookDelivery.updateMany({ where: { seq: { in: rows.map((row) => row.seq) }, status: options.status }, data: this.requeued(now) })
    return count
  }

  private requeued(now: Date) {
    return { status: 'pending', attempts: 0, nextAttemptAt: now, createdAt: now, deliveredAt: null }
  }

  /** The position of a delivery in the order (a page cursor); undefined when this session has none by that id. */
  async seqOf(id: string): Promise<number | undefined> {
    const row = await this.db.webhookDelivery.findFirst({ where: { ...this.scope, id }, select: { seq: true } })
    return row?.seq
  }

  /**
   * Recent deliveries, newest first; with `beforeSeq`, the page older than it. `pending` also
   * matches deliveries being sent right now.
   */
  async list(options: { status?: DeliveryStatus | undefined; limit: number; beforeSeq?: number | undefined; webhook?: string | undefined }): Promise<Delivery[]> {
    const status = options.status === 'pending' ? { in: ['pending', 'delivering'] } : options.status
    const rows = await this.db.webhookDelivery.findMany({
      where: {
        ...this.scope,
        ...(options.webhook !== undefined && { webhook: options.webhook }),
        ...(status !== undefined && { status }),
        ...(options.beforeSeq !== undefined && { seq: { lt: options.beforeSeq } }),
      },
      orderBy: { seq: 'desc' },
      take: options.limit,
      omit: { payload: true },
    })
    return rows.map((row) => ({
      id: row.id,
      webhook: row.webhook,
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
}

/**
 * A webhook's rows written pending, for a worker elsewhere to claim (another process, or none yet):
 * what a recorder uses when no worker of this process takes them over. `committed` is called for
 * each row once its transaction has committed.
 */
export function pendingTarget(webhook: string, committed: () => void = () => {}): OutboxTarget {
  return { webhook, handover: () => ({ claimed: false, committed, abandoned: () => {} }) }
}
