// Records one session's events. One transaction appends the event to the rolling log, trims the log to its cap,
// and, when the webhook wants this event, writes its outbox row: an event is never in the log
// without its delivery, or delivered without being logged.
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

export class EventLog {
  private outbox: OutboxPolicy = noOutbox
  private taker: OutboxTaker | undefined
  private readonly listeners = new Set<(event: RecordedEvent, data: unknown) => void>()

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

  async record<T extends EventType>(type: T, data: EventData<T>): Promise<RecordedEvent> {
    const createdAt = new Date()
    const text = JSON.stringify(data)
    const deliveryId = this.outbox.wants(type) ? randomUUID() : undefined
    const handover = deliveryId ? this.taker?.handover() : undefined
    let written: { id: number; delivery: OutboxRow | undefined }
    try {
      written = await this.write(type, text, createdAt, deliveryId && { id: deliveryId, event: type, payload: JSON.stringify({ event: type, data }), status: handover?.claimed ? 'delivering' : 'pending' })
    } catch (error) {
      handover?.abandoned()
      throw error
    }
    const recorded: RecordedEvent = { id: written.id, type, timestamp: createdAt.toISOString(), deliveryId }
    if (written.delivery) {
      if (handover) handover.committed(written.delivery)
      else this.outbox.notify()
    }
    for (const listener of this.listeners) listener(recorded, data)
    return recorded
  }

  /**
   * One batch transaction (a single round trip on PostgreSQL, unlike an interactive one): the
   * event, the trim, and the outbox row if any. Plain SQL: the query builder costs about twice the
   * CPU per statement, and this runs for every event.
   */
  private async write(
    type: EventType,
    text: string,
    createdAt: Date,
    delivery: { id: string; event: string; payload: string; status: 'pending' | 'delivering' } | undefined,
  ): Promise<{ id: number; delivery: OutboxRow | undefined }> {
    const [event, , outbox] = await this.db.$transaction([
      this.db.$queryRaw<Array<{ id: number | bigint }>>`INSERT INTO "Event" ("session", "type", "data", "createdAt") VALUES (${this.session}, ${type}, ${text}, ${createdAt}) RETURNING "id"`,
      // Everything older than the session's newest `limit` events goes.
      this.db.$executeRaw`DELETE FROM "Event" WHERE "session" = ${this.session} AND "id" < (SELECT "id" FROM "Event" WHERE "session" = ${this.session} ORDER BY "id" DESC LIMIT 1 OFFSET ${this.limit - 1})`,
      ...(delivery ? [this.outboxTable.insertStatement({ ...delivery, createdAt })] : []),
    ])
    const seq = outbox?.[0]?.seq
    return {
      id: Number(event[0]!.id),
      delivery: delivery && seq !== undefined ? { seq: Number(seq), id: delivery.id, event: delivery.event, payload: delivery.payload, attempts: 0, createdAt } : undefined,
    }
  }

  async list(options: { limit: number; type?: string | undefined }): Promise<LoggedEvent[]> {
    const rows = await this.db.event.findMany({
      where: { session: this.session, ...(options.type && { type: options.type }) },
      orderBy: { id: 'desc' },
      take: options.limit,
    })
    return rows.map((row) => ({ id: row.id, type: row.type, timestamp: row.createdAt.toISOString(), data: JSON.parse(row.data) as Record<string, unknown> }))
  }
}
