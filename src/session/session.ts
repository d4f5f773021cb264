// One session (a linked WhatsApp account) as this process holds it: its event log, webhooks (each
// with its settings and delivery worker) and outbox, always; and its WhatsApp side (contacts book and connection) only while
// this process owns the session (see ownership.ts). Every process holds every session, so any of
// them can answer the reads the store can answer; the owner alone talks to WhatsApp and delivers.
import type { UserFacingSocketConfig } from '@whiskeysockets/baileys'
import type { Config } from '../config.js'
import { ApiError } from '../errors.js'
import { EventLog } from '../events/log.js'
import { MessageHistory } from '../messages/history.js'
import { MediaStore } from '../media/store.js'
import type { Logger } from '../logger.js'
import type { Db } from '../store/database.js'
import { Outbox } from '../webhooks/outbox.js'
import { SessionWebhooks } from '../webhooks/session-webhooks.js'
import type { WhatsAppConnection } from './connection.js'
import type { WhatsAppParts } from './load-whatsapp.js'
import type { ContactView } from './shapes.js'
import type { ContactQuery } from './contacts.js'
import { UnwrittenKeys } from './unwritten-keys.js'

export interface SessionDependencies {
  config: Config
  logger: Logger
  db: Db
  /** Print each new QR code in the terminal (the default for `npm start`). */
  printQr: boolean
  /** Extra Baileys options, merged over the service's own (tests: a fetch agent for a local media host). */
  socketOptions?: Partial<UserFacingSocketConfig> | undefined
}

export class Session {
  readonly events: EventLog
  /** Its webhooks; the first is the contract's /api/webhook. */
  readonly webhooks: SessionWebhooks
  /** Every webhook's deliveries. */
  readonly outbox: Outbox
  /** Chats and stored messages, read from the store (any process answers). */
  readonly history: MessageHistory
  /** Incoming media, from the store (any process serves it). */
  readonly media: MediaStore
  private parts: Promise<WhatsAppParts> | undefined
  /** Auth keys the store refused until the session last closed here (auth-store.ts). */
  private readonly unwrittenKeys = new UnwrittenKeys()
  private owned = false
  /** own() and disown() run one at a time, in call order. */
  private transition: Promise<unknown> = Promise.resolve()

  private constructor(
    readonly name: string,
    private readonly deps: SessionDependencies,
  ) {
    const { db, config, logger } = deps
    this.outbox = new Outbox(db, name)
    this.events = new EventLog(db, name, config.EVENT_LOG_LIMIT, this.outbox)
    this.history = new MessageHistory(db, name)
    this.media = new MediaStore(db, name)
    // EventLog writes an outbox row per webhook with the event and hands it to that webhook's worker.
    this.webhooks = new SessionWebhooks(db, name, this.outbox, this.events, logger, config)
    this.events.useOutbox(this.webhooks)
  }

  static async open(name: string, deps: SessionDependencies): Promise<Session> {
    const session = new Session(name, deps)
    await session.webhooks.load()
    return session
  }

  /** Whether this process owns the session now (or is taking it over). */
  get isOwned(): boolean {
    return this.owned
  }

  /**
   * This process now owns the session: deliver its webhooks and connect it to WhatsApp. The store
   * is read afresh (settings, contacts, auth state): another process may have changed it. With
   * `continued` (nobody else owned it since it closed here), auth keys the store refused before
   * are written first; otherwise the other owner's are newer, and those are dropped.
   */
  own({ continued = false }: { continued?: boolean } = {}): Promise<void> {
    this.owned = true
    return this.serially(async () => {
      if (!this.owned) return
      if (!continued && this.unwrittenKeys.size > 0) {
        this.deps.logger.error(
          { session: this.name, keyCount: this.unwrittenKeys.size },
          'auth keys this process could not write before the session closed here are dropped: another process owned the session since, and its keys are newer',
        )
        this.unwrittenKeys.take()
      }
      await this.webhooks.load()
      await this.webhooks.start()
      this.parts ??= this.createParts()
      await (await this.parts).connection.start()
    })
  }

  /**
   * This process gives the session up (to another process, or because it stops): the socket is
   * closed and its last writes are done before this resolves, so the next owner never meets it on
   * WhatsApp (no 440 "replaced").
   */
  disown(): Promise<void> {
    this.owned = false
    return this.serially(async () => {
      const parts = this.parts
      this.parts = undefined
      if (parts) await (await parts.catch(() => undefined))?.connection.stop()
      await this.webhooks.stop()
    })
  }

  /** The session's connection, when this process owns it (waits for a takeover in progress). */
  async connection(): Promise<WhatsAppConnection> {
    await this.transition
    if (!this.owned || !this.parts) throw new ApiError('SESSION_MOVING', `Session "${this.name}" is moving to another process; try again in a moment`)
    return (await this.parts).connection
  }

  /** The session's contacts, from the store (any process answers this). */
  async contacts(query: ContactQuery): Promise<ContactView[]> {
    const { listContacts } = await import('./contacts.js')
    return listContacts(this.deps.db, this.name, query)
  }

  /** One contact from the store, by phone-number JID or LID. */
  async contact(jid: string): Promise<ContactView | undefined> {
    const { findContact } = await import('./contacts.js')
    return findContact(this.deps.db, this.name, jid)
  }

  /** The connection if it is running here right now, without waiting. */
  async currentConnection(): Promise<WhatsAppConnection | undefined> {
    return this.owned && this.parts ? (await this.parts.catch(() => undefined))?.connection : undefined
  }

  private async createParts(): Promise<WhatsAppParts> {
    const { createWhatsAppParts } = await import('./load-whatsapp.js')
    const { config, logger, db, printQr, socketOptions } = this.deps
    return createWhatsAppParts({ session: this.name, config, logger, db, events: this.events, printQr, socketOptions, unwrittenKeys: this.unwrittenKeys })
  }

  private serially(step: () => Promise<void>): Promise<void> {
    const run = this.transition.then(step)
    this.transition = run.catch((error: unknown) => this.deps.logger.error({ err: error, session: this.name }, 'session start or stop failed'))
    return run
  }
}
