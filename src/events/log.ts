// Records one session's events. One transaction appends the event to the rolling log, trims the log to its cap,
// and writes an outbox row for each webhook that wants this event: an event is never in the log
// without its deliveries, or delivered without being logged.
//
// Group commit: events recorded while a transaction is being written wait for it, then go together
// in the next one (at most MAX_BATCH, in the order record() was called), so a burst is a few dozen
// transactions rather than thousands, and each record() still resolves only once its event is
// committed. A caller that waits for each record before the next gets one transaction per event,
// as before.
import { randomUUID } from 'node:crypto'
import { rawSqlOf, sqlFragment, sqlList, type Db, type Sql } from '../store/database.js'
import type { EventData, EventType, LoggedEvent } from './types.js'

export interface OutboxPolicy {
  /** The webhooks an event of this type goes to now (URL set, on, filter matches), first webhook first: a row each. */
  targets(type: EventType): readonly OutboxTarget[]
}

/** A webhook's delivery worker, as the recorder sees it. */
export interface OutboxTarget {
  /** The webhook's id, written in its rows. */
  readonly webhook: string
  /** Asked before its row is written (see Handover); after the commit it is handed the row, or woken. */
  handover(): Handover
}

/** An outbox row as record() wrote it: the same fields as a row the worker claims itself. */
export type OutboxRow = Omit<NewDelivery, 'status' | 'webhook'> & { seq: number; attempts: number }

/** An outbox row about to be written with its event. */
export interface NewDelivery {
  id: string
  webhook: string
  event: string
  payload: string
  status: 'pending' | 'delivering'
  createdAt: Date
}

/**
 * What the recorder needs of the outbox table (src/webhooks/outbox.ts owns it): the statement that
 * writes a row, to run in the event's transaction, returning the row's `seq`.
 */
export interface OutboxTable {
  /** One statement for all the rows; the `seq`s it returns, sorted ascending, are the rows' in order. */
  insertStatement(rows: readonly NewDelivery[]): Sql
}

/**
 * The delivery worker's offer, asked for each outbox row before it is written. When `claimed`, the
 * row is written already claimed ('delivering') and handed over after the commit, so the worker
 * sends it without a statement of its own; otherwise it is written pending, for the worker to claim.
 */
export interface Handover {
  readonly claimed: boolean
  /** After the commit, with the row as written. */
  committed(row: OutboxRow): void
  /** The transaction failed: nothing was written. */
  abandoned(): void
}

export interface RecordedEvent {
  id: number
  type: EventType
  timestamp: string
  /** The first webhook's delivery of it (X-Wsgo-Delivery), if any webhook wants it. */
  deliveryId: string | undefined
  /** Its delivery to each webhook that wants it, first webhook first. */
  deliveryIds: string[]
}

const noOutbox: OutboxPolicy = { targets: () => [] }

/**
 * Events per transaction at most. On SQLite a transaction runs without a turn of the event loop
 * (three statements however many events, each longer with more rows), so this bounds the time one batch holds it.
 */
export const MAX_BATCH = 32

/** An event waiting for its transaction. */
interface Pending {
  type: EventType
  data: unknown
  text: string
  createdAt: Date
  deliveries: Array<Omit<NewDelivery, 'createdAt'> & { handover: Handover }>
  resolve(recorded: RecordedEvent): void
  reject(error: unknown): void
}

export class EventLog {
  private outbox: OutboxPolicy = noOutbox
  private readonly listeners = new Set<(event: RecordedEvent, data: unknown) => void>()
  /** Recorded, waiting for their transaction, oldest first. */
  private readonly queue: Pending[] = []
  /** The loop writing the queue, while there is one. */
  private writing: Promise<void> | undefined

  constructor(
    private readonly db: Db,
    readonly session: string,
    private readonly limit: number,
    private readonly outboxTable: OutboxTable,
  ) {}

  /** The webhooks module plugs in here; without it events are only logged. */
  useOutbox(outbox: OutboxPolicy): void {
    this.outbox = outbox
  }

  /** In-process subscribers (e.g. the /qr page's stream) hear every event after it is stored. */
  subscribe(listener: (event: RecordedEvent, data: unknown) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  record<T extends EventType>(type: T, data: EventData<T>): Promise<RecordedEvent> {
    return new Promise<RecordedEvent>((resolve, reject) => {
      const targets = this.outbox.targets(type)
      // One text for every webhook's row: the exact bytes each receiver gets.
      const payload = targets.length > 0 ? JSON.stringify({ event: type, data }) : ''
      const deliveries = targets.map((target) => {
        const handover = target.handover()
        return { id: randomUUID(), webhook: target.webhook, event: type, payload, status: handover.claimed ? ('delivering' as const) : ('pending' as const), handover }
      })
      this.queue.push({
        type,
        data,
        text: JSON.stringify(data),
        createdAt: new Date(),
        deliveries,
        resolve,
        reject,
      })
      if (!this.writing) this.writing = this.drain()
    })
  }

  /** Writes what is queued, a batch per transaction, until nothing is. */
  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH)
        let written: Array<{ id: number; seqs: number[] }>
        try {
          written = await this.write(batch)
        } catch (error) {
          for (const entry of batch) {
            for (const delivery of entry.deliveries) delivery.handover.abandoned()
            entry.reject(error)
          }
          continue
        }
        batch.forEach((entry, index) => {
          const { id, seqs } = written[index]!
          const deliveryIds = entry.deliveries.map((delivery) => delivery.id)
          const recorded: RecordedEvent = { id, type: entry.type, timestamp: entry.createdAt.toISOString(), deliveryId: deliveryIds[0], deliveryIds }
          entry.deliveries.forEach((delivery, at) => {
            const row: OutboxRow = { seq: seqs[at]!, id: delivery.id, event: delivery.event, payload: delivery.payload, attempts: 0, createdAt: entry.createdAt }
            // A worker woken for a pending row coalesces the wake-ups of a whole batch into one look.
            delivery.handover.committed(row)
          })
          try {
            for (const listener of this.listeners) listener(recorded, entry.data)
          } catch (error) {
            // Committed all the same; the caller hears of it, the rest of the batch is not held up.
            return entry.reject(error)
          }
          entry.resolve(recorded)
        })
      }
    } finally {
      this.writing = undefined
    }
  }

  /**
   * One transaction: the batch's events in one multi-row INSERT, their outbox rows in another, then
   * one trim. Within one INSERT the ids (and seqs) rise in the order of its rows, so sorted they map
   * back to the batch. Plain SQL on the client's connection (src/store/raw-sql.ts): this runs for
   * every event, and a statement for the batch rather than per event was most of what a burst saved.
   */
  private async write(batch: Pending[]): Promise<Array<{ id: number; seqs: number[] }>> {
    const events = batch.map((entry) => sqlFragment`(${this.session}, ${entry.type}, ${entry.text}, ${entry.createdAt})`)
    const rows = batch.flatMap((entry) => entry.deliveries.map(({ handover: _handover, ...row }) => ({ ...row, createdAt: entry.createdAt })))
    const { inserted, outboxRows } = await rawSqlOf(this.db).transaction(async (tx) => {
      const inserted = await tx.query<{ id: number | bigint }>(sqlFragment`INSERT INTO "Event" ("session", "type", "data", "createdAt") VALUES ${sqlList(events)} RETURNING "id"`)
      const outboxRows = rows.length > 0 ? await tx.query<{ seq: number | bigint }>(this.outboxTable.insertStatement(rows)) : []
      // Everything older than the session's newest `limit` events goes.
      await tx.execute(sqlFragment`DELETE FROM "Event" WHERE "session" = ${this.session} AND "id" < (SELECT "id" FROM "Event" WHERE "session" = ${this.session} ORDER BY "id" DESC LIMIT 1 OFFSET ${this.limit - 1})`)
      return { inserted, outboxRows }
    })
    const ascending = (values: Array<number | bigint>) => values.map(Number).sort((a, b) => a - b)
    const ids = ascending(inserted.map((row) => row.id))
    const seqs = ascending(outboxRows.map((row) => row.seq))
    let at = 0
    return batch.map((entry, index) => ({ id: ids[index]!, seqs: entry.deliveries.map(() => seqs[at++]!) }))
  }

  /**
   * Up to `limit` events, newest first; `before`/`after` are id cursors (exclusive). With `after` the
   * page holds the events right after it (the oldest above it), still listed newest first, unless
   * `oldestFirst` (how a live stream reads the log to catch up).
   */
  async list(options: { limit: number; type?: string | undefined; types?: readonly string[] | undefined; before?: number | undefined; after?: number | undefined; oldestFirst?: boolean }): Promise<LoggedEvent[]> {
    const ascending = options.after !== undefined
    const rows = await this.db.event.findMany({
      where: {
        session: this.session,
        ...(options.type && { type: options.type }),
        ...(options.types && { type: { in: [...options.types] } }),
        ...((options.before !== undefined || options.after !== undefined) && { id: { ...(options.before !== undefined && { lt: options.before }), ...(options.after !== undefined && { gt: options.after }) } }),
      },
      orderBy: { id: ascending ? 'asc' : 'desc' },
      take: options.limit,
    })
    if (ascending !== Boolean(options.oldestFirst)) rows.reverse()
    return rows.map((row) => ({ id: row.id, type: row.type, timestamp: row.createdAt.toISOString(), data: JSON.parse(row.data) as Record<string, unknown> }))
  }
}
