// Records events. One transaction appends the event to the rolling log, trims the log to its cap,
// and, when the webhook wants this event, writes its outbox row: an event is never in the log
// without its delivery, or delivered without being logged.
import { randomUUID } from 'node:crypto'
import type { Db } from '../store/database.js'
import type { EventData, EventType, LoggedEvent } from './types.js'

export interface OutboxPolicy {
  /** Whether an event of this type goes to the webhook now (URL set, filter matches). */
  wants(type: EventType): boolean
  /** Called after a transaction that added outbox rows has committed. */
  notify(): void
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
  private readonly listeners = new Set<(event: RecordedEvent, data: unknown) => void>()

  constructor(
    private readonly db: Db,
    private readonly limit: number,
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

  async record<T extends EventType>(type: T, data: EventData<T>): Promise<RecordedEvent> {
    const createdAt = new Date()
    const text = JSON.stringify(data)
    const deliveryId = this.outbox.wants(type) ? randomUUID() : undefined
    // One batch transaction (a single round trip on PostgreSQL, unlike an interactive one).
    const [event] = await this.db.$transaction([
      this.db.event.create({ data: { type, data: text, createdAt }, select: { id: true } }),
      // Trim in the same step: everything older than the newest `limit` events goes.
      this.db.$executeRaw`DELETE FROM "Event" WHERE "id" < (SELECT "id" FROM "Event" ORDER BY "id" DESC LIMIT 1 OFFSET ${this.limit - 1})`,
      ...(deliveryId
        ? [this.db.webhookDelivery.create({ data: { id: deliveryId, event: type, payload: JSON.stringify({ event: type, data }), createdAt, nextAttemptAt: createdAt }, select: { seq: true } })]
        : []),
    ])
    const id = event.id
    const recorded: RecordedEvent = { id, type, timestamp: createdAt.toISOString(), deliveryId }
    if (deliveryId) this.outbox.notify()
    for (const listener of this.listeners) listener(recorded, data)
    return recorded
  }

  async list(options: { limit: number; type?: string | undefined }): Promise<LoggedEvent[]> {
    const rows = await this.db.event.findMany({
      where: options.type ? { type: options.type } : {},
      orderBy: { id: 'desc' },
      take: options.limit,
    })
    return rows.map((row) => ({ id: row.id, type: row.type, timestamp: row.createdAt.toISOString(), data: JSON.parse(row.data) as Record<string, unknown> }))
  }
}
