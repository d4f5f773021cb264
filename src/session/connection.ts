// One session's WhatsApp connection: Baileys wired to the session's store, a small state machine
// (connecting -> qr -> open, closed, logged_out, standby), reconnect rules, and the operations the
// API calls. Lifecycle operations (connect, reconnect, logout, stop) run one at a time; events from
// a socket that has since been replaced are ignored (each socket has a generation number). What
// arrives is handled by incoming.ts; the session around it is session.ts.
import { setImmediate as nextTurn } from 'node:timers/promises'
import makeWASocket, {
  makeCacheableSignalKeyStore,
  proto,
  type AnyMessageContent,
  type MiscMessageGenerationOptions,
  type ConnectionState as BaileysConnectionUpdate,
  type UserFacingSocketConfig,
  type WAMessage,
  type WASocket,
  type WAVersion,
} from '@whiskeysockets/baileys'
import type { Config } from '../config.js'
import { ApiError } from '../errors.js'
import type { EventLog } from '../events/log.js'
import type { EventData } from '../events/types.js'
import type { Logger } from '../logger.js'
import type { AuthStore, StoredAuthState } from './auth-store.js'
import type { ContactBook } from './contacts.js'
import { GroupMetadataCache } from './group-cache.js'
import { HeldKeyWrites } from './held-key-writes.js'
import { IncomingMessages, type TakenMessage } from './incoming.js'
import { waitForSlice } from '../event-loop-slice.js'
import { type FrameSource, paceFrames } from './paced-frames.js'
import { boundClose, type ClosableClient } from './bounded-close.js'
import { acksFromReceipts, acksFromUpdates, callEvent, groupUpdateEvent, isFetchedGroup, participantsEvent } from './incoming/updates.js'
import { IncomingMedia } from '../media/incoming-media.js'
import type { MediaStore } from '../media/store.js'
import { printQrInTerminal } from './qr-terminal.js'
import type { ConnectionState, GroupSummary, LastDisconnect, SentMessage, SessionStatus } from './shapes.js'
import type { SentMessageStore } from './sent-messages.js'
import type { MessageStore } from '../messages/store.js'
import { retryDelay } from '../backoff.js'
import { nextStepAfterClose } from './reconnect-policy.js'
import { SendQueue } from './send-queue.js'
import { Cutoff, raceCut } from './cutoff.js'
import { baileysLevel, quietLogger, routeLibsignalConsole } from './quiet-logger.js'
import type { ILogger } from '@whiskeysockets/baileys/lib/Utils/logger.js'
import { observeSend, observeUpsert } from '../metrics/observe.js'

export interface ConnectionDependencies {
  /** The session's name: in every log line, and in WA_WS_URL's `{session}`. */
  session: string
  config: Config
  logger: Logger
  auth: AuthStore
  contacts: ContactBook
  events: EventLog
  sentMessages: SentMessageStore
  /** Keeps every message and chat (src/messages/store.ts). */
  messages?: MessageStore
  /** Keeps incoming media (src/media/); without it media messages carry no `media`. */
  media?: MediaStore
  /** Extra Baileys options (e.g. a fetch agent), merged over the service's own. */
  socketOptions?: Partial<UserFacingSocketConfig>
  /** Print each new QR code in the terminal (the default for `npm start`). */
  printQr?: boolean
}

const GROUPS_CACHE_MS = 30_000
/** A media download that takes longer fails (and is tried again later). */
const MEDIA_DOWNLOAD_TIMEOUT_MS = 60_000
/** How often failed media downloads are tried again, and old media pruned, while connected. */
const MEDIA_MAINTENANCE_MS = 5 * 60_000
/** How long a closed socket gets to hand over the messages it was still decrypting. */
const CLOSE_DRAIN_MS = 100

/**
 * Baileys' socket config with the option scripts/patch-baileys.mjs adds: each decrypted message is
 * handed over in arrival order, Baileys decrypts the next one once the returned promise resolves, and
 * WhatsApp gets the delivery receipt when `receipt` is called (never, if it is not: WhatsApp then
 * delivers the message again on the next connection).
 */
type PatchedSocketConfig = UserFacingSocketConfig & {
  storeIncomingMessage?: (message: WAMessage, receipt: () => Promise<void>) => Promise<void>
  /** Asked after every incoming stanza and before every outgoing message is encrypted: resolves when Baileys may go on. */
  yieldToEventLoop?: () => Promise<void>
}

/**
 * How many decrypted messages may wait for the store before Baileys decrypts more. Each one waiting
 * when the process dies comes back undecryptable (its Signal ratchet has moved on) and costs a retry
 * receipt and the sender's re-send: enough to keep decryption and the store both busy, no more.
 */
const MAX_MESSAGES_WAITING_FOR_STORE = 32
/** How many turns of the loop a take waits for more messages in a burst (see queueForTaking). */
const BURST_TAKE_TURNS = 4
/** How long Signal key writes that no incoming message follows are held (see held-key-writes.ts). */
const KEY_WRITES_LINGER_MS = 200

export class WhatsAppConnection {
  private socket: WASocket | undefined
  private generation = 0
  private state: ConnectionState = 'closed'
  private qr: string | undefined
  private auth: StoredAuthState | undefined
  private reconnectTimer: NodeJS.Timeout | undefined
  private attempt = 0
  private lastDisconnect: LastDisconnect | null = null
  private stopped = false
  /** Set while our own logout runs, so its 401 is not taken for the phone unlinking us. */
  private loggingOut = false
  private lifecycle: Promise<unknown> = Promise.resolve()
  private pendingReconnect: Promise<void> | undefined
  private credsWrites: Promise<unknown> = Promise.resolve()
  private ingest: Promise<unknown> = Promise.resolve()
  /** The auth state's key writes, held until the messages they decrypted are stored. */
  private heldKeys: HeldKeyWrites | undefined
  /** Decrypted messages not yet taken by the ingest queue (see queueForTaking). */
  private waitingToBeTaken: TakenMessage[] | undefined
  /** Decrypted messages being stored, oldest first (see MAX_MESSAGES_WAITING_FOR_STORE). */
  private readonly storing: Array<Promise<unknown>> = []
  /** Whether the current socket got as far as a QR or an open connection. */
  private reachedWhatsApp = false
  private readonly incoming: IncomingMessages
  /** Incoming media downloads, when the session keeps media. */
  readonly media: IncomingMedia | undefined
  private mediaTimer: NodeJS.Timeout | undefined
  private groupsCache: { at: number; groups: GroupSummary[] } | undefined
  /** Group metadata for sends (Baileys' cachedGroupMetadata); kept across reconnects. */
  readonly groupMetadata = new GroupMetadataCache()
  private readonly sendQueue: SendQueue
  /**
   * Fails the calls waiting for WhatsApp's answer when the service closes their socket: Baileys'
   * end() drops the listeners that would fail them, leaving each to its 60 s query timeout.
   */
  private readonly socketCalls = new Cutoff()
  private readonly log: Logger
  private readonly version: WAVersion | undefined
  /** Baileys' own logs: one level quieter than ours, and rate-limited (see quiet-logger.ts). */
  private readonly baileysLogger: ILogger

  constructor(private readonly deps: ConnectionDependencies) {
    this.log = deps.logger.child({ module: 'session', session: deps.session })
    this.sendQueue = new SendQueue(deps.config.SEND_MIN_GAP_MS, deps.config.SEND_TIMEOUT_MS)
    this.baileysLogger = quietLogger(deps.logger.child({ module: 'baileys', session: deps.session }, { level: baileysLevel(deps.config.LOG_LEVEL) }))
    routeLibsignalConsole(this.baileysLogger)
    this.version = deps.config.WA_VERSION ? (deps.config.WA_VERSION.split('.').map(Number) as WAVersion) : undefined
    const fetchOptions = deps.socketOptions?.options as RequestInit | undefined
    this.media = deps.media
      ? new IncomingMedia(deps.media, { maxBytes: deps.config.MEDIA_MAX_BYTES, timeoutMs: MEDIA_DOWNLOAD_TIMEOUT_MS, fetchOptions }, this.log)
      : undefined
    this.incoming = new IncomingMessages({
      contacts: deps.contacts,
      events: deps.events,
      self: () => this.auth?.creds.me?.id,
      lidStore: () => this.socket?.signalRepository.lidMapping,
      media: this.media,
      polls: {
        sent: (id) => deps.sentMessages.get(id),
        ownJids: () => [this.auth?.creds.me?.id, this.auth?.creds.me?.lid].filter((j): j is string => Boolean(j)),
      },
    })
  }

  // ---- lifecycle --------------------------------------------------------------------------

  /** Connects at boot: with stored creds it logs in, without them it starts showing QR codes. */
  start(): Promise<void> {
    this.stopped = false
    this.log.info({ waVersion: this.deps.config.WA_VERSION ?? 'baileys default' }, 'starting WhatsApp session')
    return this.exclusive(() => this.openSocket())
  }

  /**
   * Another process owns the WhatsApp connection (see lease.ts): stay off WhatsApp, say so, and
   * wait to be started. Safe to call repeatedly.
   */
  standby(holder: string | undefined): Promise<void> {
    return this.exclusive(async () => {
      const reason = `standby: another process${holder ? ` (${holder})` : ''} owns this session's WhatsApp connection`
      if (this.state === 'standby' && this.lastDisconnect?.reason === reason) return
      if (this.state !== 'standby') this.log.info({ holder }, 'on standby: another process owns the WhatsApp connection')
      this.stopped = true
      this.clearReconnectTimer()
      this.stopMediaMaintenance()
      await this.closeSocket()
      this.setState('standby')
      this.lastDisconnect = { code: null, reason, at: new Date().toISOString() }
    })
  }

  /** Drops the connection and connects again; concurrent calls share one reconnect. */
  reconnect(): Promise<void> {
    if (this.state === 'standby') return Promise.reject(this.standbyError())
    this.pendingReconnect ??= this.exclusive(async () => {
      this.stopped = false
      this.attempt = 0
      await this.openSocket()
    }).finally(() => {
      this.pendingReconnect = undefined
    })
    return this.pendingReconnect
  }

  /** Unpairs: tells WhatsApp (when connected), forgets the auth state, and goes back to a QR. */
  logout(): Promise<void> {
    if (this.state === 'standby') return Promise.reject(this.standbyError())
    return this.exclusive(async () => {
      const socket = this.socket
      if (socket && this.state === 'open') {
        this.loggingOut = true
        try {
          await socket.logout('logout requested through the API')
        } catch (error) {
          this.log.warn({ err: error }, 'WhatsApp did not confirm the logout; forgetting the device anyway')
        } finally {
          this.loggingOut = false
        }
      }
      await this.forgetDevice('logged out through the API', 401)
      this.stopped = false
      await this.openSocket()
    })
  }

  async stop(): Promise<void> {
    this.stopped = true
    await this.exclusive(async () => {
      this.clearReconnectTimer()
      await this.closeSocket()
      this.setState('closed')
    })
    this.stopMediaMaintenance()
    await this.credsWrites
    await this.ingest
    await this.heldKeys?.flush().catch((error) => this.log.error({ err: error }, 'writing the last Signal keys failed'))
    await this.deps.messages?.settled()
    // Stopped for good (the session moves to another process, or is deleted): from here on the auth
    // state is the next owner's alone.
    await this.deps.auth.close()
  }

  status(): SessionStatus {
    const me = this.auth?.creds.me
    return {
      connected: this.state === 'open' || this.state === 'qr',
      loggedIn: this.state === 'open',
      device: me?.id ?? '',
      pushName: me?.name ?? '',
      platform: this.auth?.creds.platform ?? '',
      state: this.state,
      lastDisconnect: this.lastDisconnect,
    }
  }

  /** The QR code to scan now, if the session is showing one. */
  currentQr(): string | undefined {
    return this.state === 'qr' ? this.qr : undefined
  }

  // ---- operations -------------------------------------------------------------------------

  sendText(jid: string, text: string): Promise<SentMessage> {
    return this.send(jid, { text })
  }

  sendImage(jid: string, image: Buffer, options: { caption?: string | undefined; mimetype: string }): Promise<SentMessage> {
    return this.send(jid, { image, mimetype: options.mimetype, ...(options.caption && { caption: options.caption }) })
  }

  sendDocument(jid: string, document: Buffer, options: { fileName: string; mimetype: string; caption?: string | undefined }): Promise<SentMessage> {
    return this.send(jid, { document, mimetype: options.mimetype, fileName: options.fileName, ...(options.caption && { caption: options.caption }) })
  }

  async groups(): Promise<GroupSummary[]> {
    if (this.groupsCache && Date.now() - this.groupsCache.at < GROUPS_CACHE_MS) return this.groupsCache.groups
    const socket = this.requireOpen()
    const all = await this.whatsapp('fetch the groups', () => socket.groupFetchAllParticipating())
    for (const metadata of Object.values(all)) this.groupMetadata.set(metadata)
    const groups = Object.values(all).map((g) => ({
      jid: g.id,
      name: g.subject ?? '',
      topic: g.desc ?? '',
      participants: g.size ?? g.participants.length,
      createdAt: g.creation ? new Date(g.creation * 1000).toISOString() : null,
    }))
    this.groupsCache = { at: Date.now(), groups }
    return groups
  }

  /** After a change of our own to a group (groups/group-admin.ts): its metadata and the list are stale. */
  forgetGroup(jid: string): void {
    this.groupsCache = undefined
    this.groupMetadata.forget(jid)
  }

  /** Which of these numbers (digits only) have WhatsApp, as `number -> JID` for those that do. */
  async registeredNumbers(numbers: string[]): Promise<Map<string, string>> {
    const socket = this.requireOpen()
    if (numbers.length === 0) return new Map()
    const results = await this.whatsapp('check the numbers', () => socket.onWhatsApp(...numbers))
    // Baileys answers a query that timed out with nothing: that says nothing about the numbers.
    if (results === undefined) throw new ApiError('WHATSAPP_TIMEOUT', 'WhatsApp did not answer the number check in time; try again')
    const found = new Map<string, string>()
    for (const result of results) {
      const user = result.jid.split('@')[0]
      if (result.exists && user) found.set(user, result.jid)
    }
    return found
  }

  async requestPairingCode(phone: string): Promise<string> {
    const socket = this.socket
    if (!socket || this.state !== 'qr') {
      throw new ApiError(this.state === 'open' ? 'ALREADY_PAIRED' : 'CONFLICT', this.state === 'open' ? 'The device is already paired' : 'The session is not waiting for pairing yet; try again in a moment')
    }
    return this.whatsapp('request a pairing code', () => socket.requestPairingCode(phone))
  }

  // ---- internals ----------------------------------------------------------------------------

  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.lifecycle.then(operation)
    this.lifecycle = run.catch(() => {})
    return run
  }

  private setState(state: ConnectionState): void {
    if (this.state !== state) this.log.debug({ from: this.state, to: state }, 'session state')
    this.state = state
    if (state !== 'qr') this.qr = undefined
  }

  private standbyError(): ApiError {
    return new ApiError('CONFLICT', `This process is on standby: ${this.lastDisconnect?.reason ?? 'another process owns the WhatsApp connection'}`)
  }

  private requireOpen(): WASocket {
    if (this.state === 'standby') throw new ApiError('NOT_CONNECTED', `WhatsApp is not connected in this process: ${this.lastDisconnect?.reason}`)
    if (!this.socket || this.state !== 'open') {
      throw new ApiError('NOT_CONNECTED', `WhatsApp is not connected (state: ${this.state}); pair the device or wait for it to reconnect`)
    }
    return this.socket
  }

  /**
   * Runs a call on the open socket (presence, read receipts, group operations...), turning its
   * failures into a 502 that says `what` failed; 503 when WhatsApp is not connected.
   */
  withSocket<T>(what: string, call: (socket: WASocket) => Promise<T>): Promise<T> {
    const socket = this.requireOpen()
    return this.whatsapp(what, () => call(socket))
  }

  /**
   * Runs a WhatsApp call, turning its failures into a 502 that says what failed: a 504 once
   * SEND_TIMEOUT_MS pass without an answer, a 503 at once when the service closes the socket first.
   * The deadline comes before Baileys' own query timeout (see openSocket), which answers a query
   * that timed out with nothing: "no groups", "not on WhatsApp".
   */
  private async whatsapp<T>(what: string, call: () => Promise<T>): Promise<T> {
    const ms = this.deps.config.SEND_TIMEOUT_MS
    const timeout = () => {
      throw new ApiError('WHATSAPP_TIMEOUT', `WhatsApp could not ${what}: no answer within ${ms} ms`)
    }
    try {
      return await raceCut(this.socketCalls.current, ms, timeout, call())
    } catch (error) {
      if (error instanceof ApiError) throw error
      const message = error instanceof Error ? error.message : String(error)
      throw new ApiError('WHATSAPP_ERROR', `WhatsApp could not ${what}: ${message}`, { cause: error })
    }
  }

  /**
   * Sends any message Baileys can build, through the send queue (one at a time, interrupted when the
   * socket closes). Every kind of send goes through here so each is kept for retry requests.
   */
  send(jid: string, content: AnyMessageContent, options?: MiscMessageGenerationOptions): Promise<SentMessage> {
    return observeSend(this.deps.session, content, () => this.sendNow(jid, content, options))
  }

  private async sendNow(jid: string, content: AnyMessageContent, options?: MiscMessageGenerationOptions): Promise<SentMessage> {
    this.requireOpen()
    return this.sendQueue.run(async () => {
      const socket = this.requireOpen()
      const sent = await this.whatsapp('send the message', () => socket.sendMessage(jid, content, options))
      if (!sent?.key.id) throw new ApiError('WHATSAPP_ERROR', 'WhatsApp did not return a message id')
      this.incoming.sentByUs(sent.key.id)
      // Kept for retry requests; losing this write must not fail a send that WhatsApp took.
      if (sent.message) {
        await this.deps.sentMessages.save(sent.key.id, jid, sent.message).catch((error) => this.log.error({ err: error }, 'keeping the sent message failed'))
      }
      const seconds = Number(sent.messageTimestamp?.toString() ?? Math.floor(Date.now() / 1000))
      // Baileys announces no server ack (it only reports failed ones): a message it handed to
      // WhatsApp without an error is `sent`, the first of its receipts.
      const messageID = sent.key.id
      void this.enqueue(() => this.deps.events.record('message.ack', { messageID, chat: jid, status: 'sent', timestamp: new Date().toISOString() })).catch(() => {})
      return { messageID: sent.key.id, timestamp: new Date(seconds * 1000).toISOString() }
    })
  }

  private clearReconnectTimer(): void {
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = undefined
  }

  private async closeSocket(): Promise<void> {
    const socket = this.socket
    this.socket = undefined
    this.generation++
    if (!socket) return
    // Whether WhatsApp took a message in flight now cannot be known: say so rather than hang.
    this.sendQueue.interrupt(new ApiError('NOT_CONNECTED', 'The WhatsApp connection closed before the message was confirmed; it may not have been sent'))
    this.socketCalls.cut(new ApiError('NOT_CONNECTED', 'The WhatsApp connection closed before WhatsApp answered; try again once it is connected'))
    try {
      await socket.end(undefined)
    } catch (error) {
      this.log.debug({ err: error }, 'closing the old socket failed')
    }
    // Baileys holds emitted events in a buffer while it catches up (offline messages, the initial
    // sync). Incoming messages no longer depend on it (storeIncomingMessage takes them at decryption),
    // but contacts and the like do: release them now, and once more after the messages still being
    // decrypted have had a moment to land.
    socket.ev.flush()
    await new Promise((resolve) => setTimeout(resolve, CLOSE_DRAIN_MS))
    socket.ev.flush()
  }

  /** Replaces whatever socket there is by a new one. Must run inside `exclusive`. */
  private async openSocket(): Promise<void> {
    this.clearReconnectTimer()
    await this.closeSocket()
    if (this.stopped) return
    this.auth ??= await this.deps.auth.load()
    // One for the auth state's life (not per socket): a new socket reads what the last one holds.
    this.heldKeys ??= new HeldKeyWrites(this.auth.keys, KEY_WRITES_LINGER_MS, (error) => this.log.error({ err: error }, 'writing Signal keys failed'))
    const keys = this.heldKeys
    const generation = this.generation
    const { config } = this.deps
    const baileysLogger = this.baileysLogger
    const auth = this.auth
    this.setState('connecting')
    this.groupsCache = undefined
    this.reachedWhatsApp = false

    const socketConfig: PatchedSocketConfig = {
      auth: { creds: auth.creds, keys: makeCacheableSignalKeyStore(keys, baileysLogger) },
      logger: baileysLogger,
      ...(config.WA_WS_URL && { waWebSocketUrl: config.WA_WS_URL.replaceAll('{session}', encodeURIComponent(this.deps.session)) }),
      ...(this.version && { version: this.version }),
      markOnlineOnConnect: false,
      // Later than the service's own deadline for a call (whatsapp()): Baileys answers a query that
      // timed out with nothing, which its callers read as an empty answer.
      defaultQueryTimeoutMs: config.SEND_TIMEOUT_MS + 10_000,
      retryRequestDelayMs: config.WA_RETRY_REQUEST_DELAY_MS,
      syncFullHistory: config.WA_SYNC_FULL_HISTORY,
      shouldSyncHistoryMessage: ({ syncType }) => config.WA_SYNC_FULL_HISTORY || syncType !== proto.HistorySync.HistorySyncType.FULL,
      getMessage: async (key) => (key.id ? this.deps.sentMessages.get(key.id) : undefined),
      cachedGroupMetadata: (jid) => this.groupMetadata.getOrFetch(jid, (j) => socket.groupMetadata(j)).catch(() => undefined),
      // Ack after commit: a message is receipted to WhatsApp, which then never sends it again, only
      // once its event (and webhook delivery) is committed. Also from a socket being replaced: it
      // was decrypted, so its Signal ratchet has moved on, and only this copy can be read.
      storeIncomingMessage: (message, receipt) => this.storeIncoming(message, receipt),
      // Stanzas are handled back to back until this turn of the event loop has spent its slice.
      yieldToEventLoop: waitForSlice,
      ...this.deps.socketOptions,
    }
    const socket = makeWASocket(socketConfig)
    this.socket = socket
    // What WhatsApp sends is deciphered and parsed at the slice's pace too (paced-frames.ts).
    if (!paceFrames(socket.ws as unknown as FrameSource, (error) => this.log.error({ err: error }, 'handling a frame from WhatsApp failed'))) {
      this.log.warn('Baileys\' WebSocket client is not the one this service knows: what WhatsApp sends is handled unpaced')
    }
    // Closing it waits a moment at most for WhatsApp's answer (bounded-close.ts).
    boundClose(socket.ws as unknown as ClosableClient)
    this.deps.messages?.attach(socket)
    const current = () => generation === this.generation

    socket.ev.on('creds.update', () => {
      // In order, one at a time: a later write must not be overtaken by an earlier one.
      this.credsWrites = this.credsWrites.then(() => auth.saveCreds()).catch((error) => this.log.error({ err: error }, 'saving creds failed'))
    })
    socket.ev.on('connection.update', (update) => {
      if (current()) this.onConnectionUpdate(update)
    })
    socket.ev.on('messages.upsert', ({ messages }) => {
      observeUpsert(this.deps.session, messages)
      // What storeIncomingMessage took is skipped; the rest (a message re-sent by the phone on
      // request, ...) is taken here. Also from a socket being replaced or closed.
      this.enqueue(() => this.incoming.handle(messages))
    })
    socket.ev.on('contacts.upsert', (contacts) => this.enqueue(() => this.deps.contacts.upsert(contacts)))
    socket.ev.on('contacts.update', (contacts) => this.enqueue(() => this.deps.contacts.upsert(contacts)))
    socket.ev.on('lid-mapping.update', (mapping) => this.enqueue(() => this.deps.contacts.rememberMappings([mapping])))
    socket.ev.on('messaging-history.set', ({ contacts, lidPnMappings }) =>
      this.enqueue(async () => {
        if (lidPnMappings?.length) await this.deps.contacts.rememberMappings(lidPnMappings)
        if (contacts.length) await this.deps.contacts.upsert(contacts)
      }),
    )
    socket.ev.on('groups.update', (reported) => {
      // Listing the groups is not a change: what the list fetched is cached by groups() already, and
      // reported here too, late while Baileys buffers events (it would have emptied the cache).
      const updates = reported.filter((update) => !isFetchedGroup(update))
      if (updates.length === 0) return
      this.groupsCache = undefined
      for (const update of updates) if (update.id) this.groupMetadata.forget(update.id)
      this.enqueue(async () => {
        for (const update of updates) {
          const event = groupUpdateEvent(update, this.deps.contacts.resolve)
          if (event) await this.deps.events.record('group.update', event)
        }
      })
    })
    socket.ev.on('group-participants.update', (update) => {
      this.groupsCache = undefined
      this.groupMetadata.forget(update.id)
      this.enqueue(() => this.deps.events.record('group.participants', participantsEvent(update, this.deps.contacts.resolve)))
    })
    // Receipts of what this account sent: direct chats as status updates, groups per member.
    socket.ev.on('messages.update', (updates) => {
      const acks = acksFromUpdates(updates, this.deps.contacts.resolve)
      if (acks.length) this.enqueue(() => this.recordAll('message.ack', acks))
    })
    socket.ev.on('message-receipt.update', (receipts) => {
      const acks = acksFromReceipts(receipts, this.deps.contacts.resolve)
      if (acks.length) this.enqueue(() => this.recordAll('message.ack', acks))
    })
    socket.ev.on('call', (calls) => {
      for (const call of calls) {
        const reject = this.deps.config.REJECT_CALLS && call.status === 'offer'
        const event = callEvent(call, this.deps.contacts.resolve, reject)
        if (event) this.enqueue(() => this.deps.events.record('call', event))
        if (reject && current()) {
          void socket.rejectCall(call.id, call.from).catch((error) => this.log.warn({ err: error, call: call.id }, 'rejecting a call failed'))
        }
      }
    })
    socket.ev.on('groups.upsert', (groups) => {
      this.groupsCache = undefined
      for (const metadata of groups) this.groupMetadata.set(metadata)
    })
  }

  /**
   * A message Baileys just decrypted: receipted to WhatsApp once its event is committed (and then the
   * Signal keys its decryption wrote), not if that fails. Resolves when Baileys may decrypt the next one.
   */
  private async storeIncoming(message: WAMessage, receipt: () => Promise<void>): Promise<void> {
    // Its media starts downloading now, while earlier messages are still being stored.
    this.incoming.prepare(message)
    // Its Signal key writes (the ratchet its decryption moved on) reach the store after its event.
    // They are written outside the ingest queue: the next message's event is stored meanwhile, and
    // the key writes of messages stored while the store was busy go in one transaction (see
    // held-key-writes.ts; its order holds because take() settles its messages in order, and the
    // ingest queue runs one take() at a time).
    const writeKeys = this.heldKeys?.seal()
    const stored = new Promise<void>((resolve, reject) => this.queueForTaking({ message, stored: resolve, failed: reject })).then(() => writeKeys?.())
    stored.then(receipt, () => this.log.warn({ id: message.key.id }, 'an incoming message was not stored: no receipt, WhatsApp delivers it again'))
    const settled = stored.then(
      () => undefined,
      () => undefined,
    )
    this.storing.push(settled)
    // Removed by identity: a failed take settles at once, possibly before an earlier message's keys
    // are written, so entries do not always settle oldest first.
    void settled.then(() => this.storing.splice(this.storing.indexOf(settled), 1))
    // Full: Baileys waits until half have been stored, not just the oldest. Let through one at a
    // time, it decrypted one message per take, and every take wrote a single message (a
    // transaction each, the key writes and the webhook's settle one by one too); let through in
    // halves, the messages decrypted meanwhile are taken, and written, together.
    if (this.storing.length > MAX_MESSAGES_WAITING_FOR_STORE) {
      while (this.storing.length > MAX_MESSAGES_WAITING_FOR_STORE / 2) await this.storing[0]
    }
  }

  /**
   * A decrypted message joins the messages waiting for the ingest queue's next turn; they are taken
   * together when it comes (one take(), their events in a few transactions), and whatever is
   * decrypted from then on waits for the take after. In a burst a take thus holds what was
   * decrypted over a few turns; alone, a message is taken on the next turn.
   */
  private queueForTaking(entry: TakenMessage): void {
    if (!this.waitingToBeTaken) {
      const waiting: TakenMessage[] = []
      this.waitingToBeTaken = waiting
      this.enqueue(async () => {
        // The messages Baileys decrypts in the rest of this turn go in the same take, and in a burst
        // (more than one by then) those of a few more turns: a take per message decrypted while the
        // last one was written made takes of 3 or 4, each with its own transaction, trim of the log,
        // webhook claim and key write, and those were most of a burst's cost (issue 18, storm
        // budget). A message alone waits a turn: nothing, when the service is idle.
        await nextTurn()
        for (let turns = 1; turns < BURST_TAKE_TURNS && waiting.length > 1 && waiting.length < MAX_MESSAGES_WAITING_FOR_STORE; turns++) await nextTurn()
        if (this.waitingToBeTaken === waiting) this.waitingToBeTaken = undefined
        return this.incoming.take(waiting)
      }).catch((error: unknown) => {
        // take() settles each message itself; this is a failure before any was (the log of seen ids).
        for (const each of waiting) each.failed(error)
      })
    }
    this.waitingToBeTaken.push(entry)
  }

  /**
   * Incoming work runs in arrival order, and a failure is logged, never thrown into Baileys. The
   * returned promise settles with this piece of work (a caller may wait for it; none has to).
   */
  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.ingest.then(work)
    this.ingest = run.catch((error) => this.log.error({ err: error }, 'handling a WhatsApp event failed'))
    return run
  }

  private onConnectionUpdate(update: Partial<BaileysConnectionUpdate>): void {
    if (update.qr || update.connection === 'open') this.reachedWhatsApp = true
    if (update.qr) {
      this.setState('qr')
      this.qr = update.qr
      this.enqueue(() => this.deps.events.record('qr', { qr: update.qr! }))
      if (this.deps.printQr) void printQrInTerminal(update.qr, this.deps.session)
    }
    if (update.connection === 'connecting' && this.state !== 'qr') this.setState('connecting')
    if (update.connection === 'open') {
      this.setState('open')
      this.attempt = 0
      this.lastDisconnect = null
      const me = this.auth?.creds.me
      this.log.info({ device: me?.id }, 'WhatsApp connected')
      this.maintainMedia()
      this.enqueue(() => this.deps.events.record('connected', { ...(me?.id && { device: me.id }), ...(me?.name && { pushName: me.name }) }))
    }
    if (update.connection === 'close') {
      const error = update.lastDisconnect?.error as { output?: { statusCode?: number }; message?: string } | undefined
      void this.exclusive(() => this.onClose(error?.output?.statusCode, error?.message))
    }
  }

  private async onClose(code: number | undefined, message: string | undefined): Promise<void> {
    const wasState = this.state
    if (this.stopped || this.loggingOut) return
    const paired = Boolean(this.auth?.creds.me?.id)
    const step = nextStepAfterClose(code, { paired, reachedWhatsApp: this.reachedWhatsApp, detail: message })
    this.lastDisconnect = { code: code ?? null, reason: step.reason, at: new Date().toISOString() }
    switch (step.action) {
      case 'reconnect-now':
        this.log.info({ code }, step.reason)
        await this.openSocket()
        return
      case 'reset':
        this.log.warn({ code }, step.reason)
        await this.forgetDevice(step.reason, code ?? null)
        await this.openSocket()
        return
      case 'stop':
        this.log.error({ code, detail: message }, step.reason)
        this.setState('closed')
        await this.closeSocket()
        this.enqueue(() => this.deps.events.record('disconnected', { ...(code !== undefined && { code }), reason: step.reason }))
        return
      case 'reconnect-later': {
        const delay = retryDelay(++this.attempt, { minMs: this.deps.config.RECONNECT_MIN_MS, maxMs: this.deps.config.RECONNECT_MAX_MS })
        this.log.warn({ code, detail: message, reconnectInMs: delay, attempt: this.attempt }, step.reason)
        this.setState('closed')
        await this.closeSocket()
        // One event when a working connection drops, not one per failed retry.
        if (wasState === 'open' || wasState === 'qr') {
          this.enqueue(() => this.deps.events.record('disconnected', { ...(code !== undefined && { code }), reason: step.reason, reconnectInMs: delay }))
        }
        this.reconnectTimer = setTimeout(() => void this.exclusive(() => this.openSocket()), delay)
        this.reconnectTimer.unref?.()
        return
      }
    }
  }

  private async recordAll<T extends 'message.ack'>(type: T, events: Array<EventData<T>>): Promise<void> {
    for (const event of events) await this.deps.events.record(type, event)
  }

  /** Another process runs the session now (or none does): its media is that process's to maintain. */
  private stopMediaMaintenance(): void {
    clearInterval(this.mediaTimer)
    this.mediaTimer = undefined
  }

  /** While this process runs the session: failed media downloads are tried again, old media pruned. */
  private maintainMedia(): void {
    const media = this.media
    const store = this.deps.media
    if (!media || !store || this.mediaTimer) return
    const run = () =>
      void (async () => {
        await media.retryFailed()
        await store.prune(this.deps.config.MESSAGE_RETENTION_DAYS)
      })().catch((error) => this.log.warn({ err: error }, 'media maintenance failed'))
    this.mediaTimer = setInterval(run, MEDIA_MAINTENANCE_MS)
    this.mediaTimer.unref?.()
  }

  /** Deletes the stored auth state; the next socket starts with fresh creds (a new QR). */
  private async forgetDevice(reason: string, code: number | null): Promise<void> {
    await this.closeSocket()
    await this.credsWrites
    this.heldKeys?.discard()
    this.heldKeys = undefined
    await this.deps.auth.clear()
    this.auth = undefined
    this.groupMetadata.clear()
    this.groupsCache = undefined
    this.lastDisconnect = { code, reason, at: new Date().toISOString() }
    this.setState('logged_out')
    this.enqueue(() => this.deps.events.record('logged_out', { reason }))
  }
}
