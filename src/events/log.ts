// Records one session's events. One transaction appends the event to the rolling log, trims the log to its cap,
// and, when the webhook wants this event, writes its outbox row: an event is never in the log
// without its delivery, or delivered without being logged.
//
// Group commit: events recorded while a transaction is being written wait for it, then go together
// in the next one (at most MAX_BATCH, in the order record() was called), so a burst is a few dozen
// transactions rather than thousands, and each record() still resolves only once its event is
// committed. A caller that waits for each record before the next gets one transaction per event,
// as before.
import { randomUUID } from 'node:crypto'
import type { Db, Prisma } from '../store/database.js'
import type { EventData, EventType, LoggedEvent } from './types.js'

export interface OutboxPolicy {
  /** Whether an event of this type goes to the webhook now (URL set, filter matches). */
  wants(type: EventType): boolean
  /** Called after a transaction that added a pending outbox row has committed (not for a row handed over). */
  notify(): void
}

/** An outbox row as record() wrote it: the same fields as a row the worker claims itself. */
export type OutboxRow = Omit<NewDelivery, 'status'> & { seq: number; attempts: number }

/** An outbox row about to be written with its event. */
export interface NewDelivery {
  id: string
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
  insertStatement(row: NewDelivery): Prisma.PrismaPromise<Array<{ seq: number | bigint }>>
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

export interface OutboxTaker {
  handover(): Handover
}

export interface RecordedEvent {
  id: number
  type: EventType
  timestamp: string
  deliveryId: string | undefined
}

const noOutbox: OutboxPolicy = { wants: () => false, notify: () => {} }

/**
 * Events per transaction at most. On SQLite a transaction runs without a turn of the event loop
 * (two statements per event, about 0.3 ms each), so this bounds the time one batch holds it.
 */
export const MAX_BATCH = 32

/** An event waiting for its transaction. */
interface Pending {
  type: EventType
  data: unknown
  text: string
  createdAt: Date
  delivery: (Omit<NewDelivery, 'createdAt'> & { handover: Handover | undefined }) | undefined
  resolve(recorded: RecordedEvent): void
  reject(error: unknown): void
}

export class EventLog {
  private outbox: OutboxPolicy = noOutbox
  private taker: OutboxTaker | undefined
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

  /** The running delivery worker takes the rows written from now on (undefined: it stopped). */
  handOverTo(taker: OutboxTaker | undefined): void {
    this.taker = taker
  }

  /** In-process subscribers (e.g. the /qr page's stream) hear every event after it is stored. */
  subscribe(listener: (event: RecordedEvent, data: unknown) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  record<T extends EventType>(type: T, data: EventData<T>): Promise<RecordedEvent> {
    return new Promise<RecordedEvent>((resolve, reject) => {
      const deliveryId = this.outbox.wants(type) ? randomUUID() : undefined
      const handover = deliveryId ? this.taker?.handover() : undefined
      this.queue.push({
        type,
        data,
        text: JSON.stringify(data),
        createdAt: new Date(),
        delivery: deliveryId
          ? { id: deliveryId, event: type, payload: JSON.stringify({ event: type, data }), status: handover?.claimed ? 'delivering' : 'pending', handover }
          : undefined,
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
        let written: Array<{ id: number; seq: number | undefined }>
        try {
          written = await this.write(batch)
        } catch (error) {
          for (const entry of batch) {
            entry.delivery?.handover?.abandoned()
            entry.reject(error)
          }
          continue
        }
        let notify = false
        batch.forEach((entry, index) => {
          const { id, seq } = written[index]!
          const recorded: RecordedEvent = { id, type: entry.type, timestamp: entry.createdAt.toISOString(), deliveryId: entry.delivery?.id }
          const { delivery } = entry
          if (delivery && seq !== undefined) {
            const row: OutboxRow = { seq, id: delivery.id, event: delivery.event, payload: delivery.payload, attempts: 0, createdAt: entry.createdAt }
            if (delivery.handover) delivery.handover.committed(row)
            else notify = true
          }
          try {
            for (const listener of this.listeners) listener(recorded, entry.data)
          } catch (error) {
            // Committed all the same; the caller hears of it, the rest of the batch is not held up.
            return entry.reject(error)
          }
          entry.resolve(recorded)
        })
        // One wake-up of the worker for the whole batch.
        if (notify) this.outbox.notify()
      }
    } finally {
      this.writing = undefined
    }
  }

  /**
   * One batch transaction (a single round trip on PostgreSQL, unlike an interactive one): each
   * event with its outbox row if any, in order, then one trim. Plain SQL: the query builder costs
   * about twice the CPU per statement, and this runs for every event.
   */
  private async write(batch: Pending[]): Promise<Array<{ id: number; seq: number | undefined }>> {
    const statements: Array<Prisma.PrismaPromise<Array<{ id?: number | bigint; seq?: number | bigint }>>> = []
    for (const entry of batch) {
      statements.push(this.db.$queryRaw`INSERT INTO "Event" ("session", "type", "data", "createdAt") VALUES (${this.session}, ${entry.type}, ${entry.text}, ${entry.createdAt}) RETURNING "id"`)
      if (entry.delivery) {
        const { handover: _handover, ...row } = entry.delivery
        statements.push(this.outboxTable.insertStatement({ ...row, createdAt: entry.createdAt }))
      }
    }
    // Everything older than the session's newest `limit` events goes.
    const trim = this.db.$executeRaw`DELETE FROM "Event" WHERE "session" = ${this.session} AND "id" < (SELECT "id" FROM "Event" WHERE "session" = ${this.session} ORDER BY "id" DESC LIMIT 1 OFFSET ${this.limit - 1})`
    const results = (await this.db.$transaction([...statements, trim])) as unknown[]
    let at = 0
    return batch.map((entry) => {
      const event = results[at++] as Array<{ id: number | bigint }>
      const outbox = entry.delivery ? (results[at++] as Array<{ seq: number | bigint }>) : undefined
      const seq = outbox?.[0]?.seq
      return { id: Number(event[0]!.id), seq: seq === undefined ? undefined : Number(seq) }
    })
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
