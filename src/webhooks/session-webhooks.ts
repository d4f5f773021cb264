// A session's webhooks: each with its settings (a Webhook row), its outbox rows and its delivery
// worker, so that one receiver that is down or refusing holds only its own deliveries. The event
// recorder asks this which webhooks want an event (targets) and writes a row for each; the owner of
// the session runs every webhook's worker (start/stop); the API creates, changes and deletes them.
// The first webhook (lowest position) is the one the contract's POST/GET /api/webhook act on.
//
// Upgrading: a session configured before there were several webhooks kept its one webhook in the
// Setting table ("webhook") and its outbox rows had no webhook id. The first load() turns that into
// the first webhook and gives it those rows (adoptLegacySetting), once, whichever process gets there.
import { randomUUID } from 'node:crypto'
import type { Config } from '../config.js'
import type { EventLog, OutboxPolicy, OutboxTarget } from '../events/log.js'
import type { EventType } from '../events/types.js'
import type { Logger } from '../logger.js'
import type { Db } from '../store/database.js'
import { Outbox } from './outbox.js'
import { valueOfRow, webhookValueSchema, WebhookSettings, type WebhookRow, type WebhookSettingsValue } from './settings.js'
import { WebhookWorker, workerOptionsFrom, type AttemptOutcome, type WorkerOptions } from './worker.js'

/** A session has at most this many webhooks (every list is bounded). */
export const MAX_WEBHOOKS = 20

/** The key under which a single webhook was kept before there were several. */
const LEGACY_SETTING_KEY = 'webhook'

export interface WebhookEndpoint {
  readonly id: string
  readonly position: number
  readonly settings: WebhookSettings
  /** Its rows only: what its worker claims and settles. */
  readonly outbox: Outbox
  readonly worker: WebhookWorker
}

export class SessionWebhooks implements OutboxPolicy {
  /** By position: the first is the contract's webhook. */
  private endpoints: WebhookEndpoint[] = []
  private running = false
  private readonly attemptListeners = new Set<(outcome: AttemptOutcome) => void>()
  private readonly workerOptions: WorkerOptions

  constructor(
    private readonly db: Db,
    private readonly session: string,
    /** The session's whole outbox (every webhook's rows): the recorder's table and the API's reads. */
    readonly outbox: Outbox,
    private readonly events: EventLog,
    private readonly logger: Logger,
    private readonly config: Pick<Config, 'WEBHOOK_SECRET'> & Parameters<typeof workerOptionsFrom>[0],
    workerOptions?: Partial<WorkerOptions>,
  ) {
    this.workerOptions = { ...workerOptionsFrom(config), ...workerOptions }
  }

  /** Every webhook, first first. */
  get all(): readonly WebhookEndpoint[] {
    return this.endpoints
  }

  /** The contract's webhook (POST/GET /api/webhook): the first, if there is one. */
  get first(): WebhookEndpoint | undefined {
    return this.endpoints[0]
  }

  get(id: string): WebhookEndpoint | undefined {
    return this.endpoints.find((endpoint) => endpoint.id === id)
  }

  /** Asked by the recorder for every event: the webhooks that want it, first first. */
  targets(type: EventType): readonly OutboxTarget[] {
    const targets: OutboxTarget[] = []
    for (const endpoint of this.endpoints) if (endpoint.settings.wants(type)) targets.push(endpoint.worker)
    return targets
  }

  /** Hears every settled attempt of every webhook, present and future (metrics). */
  onAttempt(listener: (outcome: AttemptOutcome) => void): () => void {
    this.attemptListeners.add(listener)
    const off = this.endpoints.map((endpoint) => endpoint.worker.onAttempt(listener))
    return () => {
      this.attemptListeners.delete(listener)
      for (const unsubscribe of off) unsubscribe()
    }
  }

  /** Reads the webhooks afresh from the store (another process may have changed them). */
  async load(): Promise<void> {
    let rows = await this.rows()
    if (rows.length === 0) rows = await this.adoptLegacySetting()
    await this.reconcile(rows)
  }

  /** Runs every webhook's worker (this process owns the session); webhooks added later start too. */
  async start(): Promise<void> {
    this.running = true
    for (const endpoint of this.endpoints) await endpoint.worker.start()
  }

  async stop(): Promise<void> {
    this.running = false
    await Promise.all(this.endpoints.map((endpoint) => endpoint.worker.stop()))
  }

  /** Whether WEBHOOK_SECRET signs the deliveries of webhooks without a secret of their own. */
  get envSecretSet(): boolean {
    return this.config.WEBHOOK_SECRET !== undefined
  }

  /** Whether any worker is only probing a failing receiver. */
  get backingOff(): boolean {
    return this.endpoints.some((endpoint) => endpoint.worker.backingOff)
  }

  /** A new webhook, last in order. Null when the session has MAX_WEBHOOKS already. */
  async create(value: Partial<WebhookSettingsValue>): Promise<WebhookEndpoint | null> {
    const stored = webhookValueSchema.parse(value)
    for (let tries = 0; ; tries++) {
      const last = await this.db.webhook.findFirst({ where: { session: this.session }, orderBy: { position: 'desc' }, select: { position: true } })
      if ((await this.db.webhook.count({ where: { session: this.session } })) >= MAX_WEBHOOKS) return null
      try {
        const row = await this.db.webhook.create({ data: { session: this.session, id: randomUUID(), position: (last?.position ?? -1) + 1, ...columnsOf(stored) } })
        await this.reconcile(await this.rows())
        return this.get(row.id) ?? null
      } catch (error) {
        // Another process took that position meanwhile: the next one.
        if (!isUniqueViolation(error) || tries >= 3) throw error
      }
    }
  }

  /** Deletes a webhook, its worker and its outbox rows; whether it existed. */
  async remove(id: string): Promise<boolean> {
    const endpoint = this.get(id)
    const { count } = await this.db.webhook.deleteMany({ where: { session: this.session, id } })
    if (endpoint) await endpoint.worker.stop()
    await this.outbox.deleteWebhookRows(id)
    await this.reconcile(await this.rows())
    return count === 1
  }

  /** Deliveries were put back in line: the workers look again. */
  redelivered(): void {
    for (const endpoint of this.endpoints) endpoint.worker.redelivered()
  }

  private rows(): Promise<WebhookRow[]> {
    return this.db.webhook.findMany({ where: { session: this.session }, orderBy: { position: 'asc' }, take: MAX_WEBHOOKS })
  }

  /** Brings the endpoints in memory in line with the rows: new ones made (and started), gone ones stopped. */
  private async reconcile(rows: WebhookRow[]): Promise<void> {
    const previous = new Map(this.endpoints.map((endpoint) => [endpoint.id, endpoint]))
    const next: WebhookEndpoint[] = []
    for (const row of rows) {
      const existing = previous.get(row.id)
      previous.delete(row.id)
      if (existing) {
        existing.settings.apply(valueOfRow(row))
        next.push(existing.position === row.position ? existing : { ...existing, position: row.position })
        continue
      }
      const settings = new WebhookSettings(this.db, this.session, row.id, this.config.WEBHOOK_SECRET, valueOfRow(row), row.createdAt)
      const outbox = this.outbox.forWebhook(row.id)
      const worker = new WebhookWorker(outbox, settings, this.events, this.logger, this.workerOptions)
      for (const listener of this.attemptListeners) worker.onAttempt(listener)
      next.push({ id: row.id, position: row.position, settings, outbox, worker })
    }
    this.endpoints = next
    for (const gone of previous.values()) await gone.worker.stop()
    if (this.running) for (const endpoint of next) await endpoint.worker.start()
  }

  /**
   * The single webhook kept in Setting before there were several becomes the first webhook, with
   * the outbox rows written for it (webhook ""), in one transaction that deletes the setting: of two
   * processes doing it at once, the second fails on the position and reads what the first wrote.
   */
  private async adoptLegacySetting(): Promise<WebhookRow[]> {
    const setting = await this.db.setting.findUnique({ where: { session_key: { session: this.session, key: LEGACY_SETTING_KEY } } })
    if (!setting) return []
    const parsed = webhookValueSchema.safeParse(JSON.parse(setting.value))
    const value = parsed.success ? parsed.data : webhookValueSchema.parse({})
    const id = randomUUID()
    try {
      await this.db.$transaction([
        this.db.webhook.create({ data: { session: this.session, id, position: 0, ...columnsOf(value) } }),
        this.db.webhookDelivery.updateMany({ where: { session: this.session, webhook: '' }, data: { webhook: id } }),
        this.db.setting.deleteMany({ where: { session: this.session, key: LEGACY_SETTING_KEY } }),
      ])
      this.logger.info({ session: this.session, webhook: id }, 'the webhook setting became the first webhook')
    } catch (error) {
      if (!isUniqueViolation(error)) throw error
    }
    return this.rows()
  }
}

function columnsOf(value: WebhookSettingsValue) {
  return { url: value.url, events: value.events === null ? null : JSON.stringify(value.events), secret: value.secret, enabled: value.enabled, gone: value.gone }
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002'
}
