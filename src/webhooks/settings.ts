// One webhook's configuration (URL, event filter, signing secret, on/off), a row of the Webhook table
// cached in memory: the event recorder consults it for every event. A session has several
// (session-webhooks.ts); the first is the one the contract's /api/webhook acts on.
import { z } from 'zod'
import type { Db } from '../store/database.js'
import { eventTypeSchema, type EventType } from '../events/types.js'

const eventsSchema = z.array(eventTypeSchema).nullable()

export const webhookValueSchema = z.object({
  url: z.string().nullable().default(null),
  events: eventsSchema.default(null),
  secret: z.string().nullable().default(null),
  /** Paused: nothing new is queued, the backlog waits (and does not age out) until it is on again. */
  enabled: z.boolean().default(true),
  /**
   * The URL is null because its receiver answered 410 Gone, not because someone cleared it: the
   * pending backlog is kept for the next URL (worker.ts). Any change through the API resets it.
   */
  gone: z.boolean().default(false),
})
export type WebhookSettingsValue = z.infer<typeof webhookValueSchema>

/** A Webhook row as Prisma returns it (the fields this module reads). */
export interface WebhookRow {
  id: string
  position: number
  url: string | null
  events: string | null
  secret: string | null
  enabled: boolean
  gone: boolean
  createdAt: Date
}

/** A row's value; an `events` column that no longer parses (an event renamed) means all events. */
export function valueOfRow(row: Pick<WebhookRow, 'url' | 'events' | 'secret' | 'enabled' | 'gone'>): WebhookSettingsValue {
  const events = row.events === null ? null : eventsSchema.safeParse(JSON.parse(row.events))
  return { url: row.url, events: events === null || !events.success ? null : events.data, secret: row.secret, enabled: row.enabled, gone: row.gone }
}

/** Where a webhook with this value delivers now: its URL while it is on, else nowhere. */
export function targetOf(value: WebhookSettingsValue): string | null {
  return value.enabled ? value.url : null
}

export class WebhookSettings {
  private value: WebhookSettingsValue
  private readonly listeners = new Set<(next: WebhookSettingsValue, previous: WebhookSettingsValue) => void>()

  constructor(
    private readonly db: Db,
    private readonly session: string,
    /** The Webhook row's id. */
    readonly id: string,
    /** WEBHOOK_SECRET from the environment: used when no secret was set through the API. */
    private readonly envSecret: string | undefined,
    value: WebhookSettingsValue = webhookValueSchema.parse({}),
    /** When the webhook was created (shown by the API). */
    readonly createdAt: Date = new Date(),
  ) {
    this.value = value
  }

  /** Takes the stored value (read by session-webhooks.ts), telling listeners if it changed. */
  apply(value: WebhookSettingsValue): void {
    const previous = this.value
    this.value = value
    if (JSON.stringify(previous) !== JSON.stringify(value)) for (const listener of this.listeners) listener(value, previous)
  }

  get current(): WebhookSettingsValue {
    return this.value
  }

  get url(): string | null {
    return this.value.url
  }

  /** Where deliveries go now: the URL while the webhook is on, else null (nothing is sent). */
  get target(): string | null {
    return targetOf(this.value)
  }

  get events(): EventType[] | null {
    return this.value.events
  }

  get enabled(): boolean {
    return this.value.enabled
  }

  /** Whether a 410 Gone turned the webhook off (see `gone` above). */
  get gone(): boolean {
    return this.value.gone
  }

  /**
   * Whether the backlog is kept while nothing is sent: after a 410 Gone, or while paused. (A URL
   * cleared through the API gives the backlog up instead.)
   */
  get holding(): boolean {
    return this.value.gone || !this.value.enabled
  }

  /** The secret that signs deliveries: the API's, else the environment's. */
  get secret(): string | undefined {
    return this.value.secret ?? this.envSecret
  }

  /**
   * Whether an event of this type is delivered now. `webhook_failed` only when the filter names it
   * (it reports a failing webhook: sending it there by default would feed a loop); `webhook_test`
   * always, since it is only recorded when someone asks to test the webhook.
   */
  wants(type: EventType): boolean {
    if (this.target === null) return false
    if (type === 'webhook_test') return true
    if (this.value.events === null) return type !== 'webhook_failed'
    return this.value.events.includes(type)
  }

  /** Called after every change that was saved or read (the delivery worker restarts its backoff on a new URL). */
  onChange(listener: (next: WebhookSettingsValue, previous: WebhookSettingsValue) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** A 410 Gone from `url`: the webhook is turned off, unless another URL was set meanwhile. */
  async turnOffAfterGone(url: string): Promise<void> {
    if (this.value.url === url) await this.update({ url: null, gone: true })
  }

  async update(change: Partial<WebhookSettingsValue>): Promise<void> {
    const next = { ...this.value, gone: false, ...change }
    await this.db.webhook.updateMany({
      where: { session: this.session, id: this.id },
      data: { url: next.url, events: next.events === null ? null : JSON.stringify(next.events), secret: next.secret, enabled: next.enabled, gone: next.gone },
    })
    this.apply(next)
  }
}
