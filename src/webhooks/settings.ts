// A session's webhook configuration (URL, event filter, signing secret), kept in the Setting table and
// cached in memory: the event recorder consults it for every event.
import { z } from 'zod'
import type { Db } from '../store/database.js'
import { eventTypeSchema, type EventType } from '../events/types.js'

const SETTING_KEY = 'webhook'

const storedSchema = z.object({
  url: z.string().nullable().default(null),
  events: z.array(eventTypeSchema).nullable().default(null),
  secret: z.string().nullable().default(null),
  /**
   * The URL is null because its receiver answered 410 Gone, not because someone cleared it: the
   * pending backlog is kept for the next URL (worker.ts). Any change through the API resets it.
   */
  gone: z.boolean().default(false),
})
export type WebhookSettingsValue = z.infer<typeof storedSchema>

export class WebhookSettings {
  private value: WebhookSettingsValue = storedSchema.parse({})
  private readonly listeners = new Set<(next: WebhookSettingsValue, previous: WebhookSettingsValue) => void>()

  constructor(
    private readonly db: Db,
    private readonly session: string,
    /** WEBHOOK_SECRET from the environment: used when no secret was set through the API. */
    private readonly envSecret: string | undefined,
  ) {}

  async load(): Promise<void> {
    const row = await this.db.setting.findUnique({ where: { session_key: { session: this.session, key: SETTING_KEY } } })
    const parsed = row ? storedSchema.safeParse(JSON.parse(row.value)) : undefined
    this.value = parsed?.success ? parsed.data : storedSchema.parse({})
  }

  get url(): string | null {
    return this.value.url
  }

  get events(): EventType[] | null {
    return this.value.events
  }

  /** Whether a 410 Gone turned the webhook off (see `gone` above). */
  get gone(): boolean {
    return this.value.gone
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
    if (this.value.url === null) return false
    if (type === 'webhook_test') return true
    if (this.value.events === null) return type !== 'webhook_failed'
    return this.value.events.includes(type)
  }

  /** Called after every change that was saved (the delivery worker restarts its backoff on a new URL). */
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
    const value = JSON.stringify(next)
    await this.db.setting.upsert({ where: { session_key: { session: this.session, key: SETTING_KEY } }, create: { session: this.session, key: SETTING_KEY, value }, update: { value } })
    const previous = this.value
    this.value = next
    for (const listener of this.listeners) listener(next, previous)
  }
}
