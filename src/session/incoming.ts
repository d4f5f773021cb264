// Incoming messages: toMessageEvent() turns a message Baileys received into the contract's
// `message` event (see ../shared/notes/api-decisions.md for the LID rules; pure, the LID -> phone
// lookup is passed in), and IncomingMessages is a session's inbound path around it.
import { isJidGroup, jidNormalizedUser, type WAMessage } from '@whiskeysockets/baileys'
import type { EventLog } from '../events/log.js'
import type { EventData } from '../events/types.js'
import type { IncomingMedia } from '../media/incoming-media.js'
import type { ContactBook } from './contacts.js'
import { changeOf, describeContent, mediaPartOf, type ContentFields, type MessageChange } from './incoming/content.js'
import { decryptVote, type PollVoteContext } from './incoming/poll-votes.js'
import { isLidJid } from './jids.js'

type MessageEvent = EventData<'message'>
export type LidResolver = (lid: string) => string | undefined

function toIso(timestamp: WAMessage['messageTimestamp']): string {
  const seconds = typeof timestamp === 'number' ? timestamp : timestamp ? Number(timestamp.toString()) : Date.now() / 1000
  return new Date(seconds * 1000).toISOString()
}

/** A person as a phone-number JID where one is known anywhere, plus the LID when there is one. */
function person(jids: Array<string | null | undefined>, resolve: LidResolver): { jid: string; lid?: string } | undefined {
  const known = jids.filter((j): j is string => Boolean(j)).map((j) => jidNormalizedUser(j))
  const lid = known.find(isLidJid)
  const pn = known.find((j) => !isLidJid(j)) ?? (lid ? resolve(lid) : undefined)
  const jid = pn ?? lid
  if (!jid) return undefined
  return lid && lid !== jid ? { jid, lid } : { jid }
}

export interface IncomingContext {
  resolve: LidResolver
  /** This device's own user JID, the sender of messages sent from the phone. */
  self: string | undefined
}

/** Who wrote a message and in which chat, as events name them. */
function addressOf(message: WAMessage, { resolve, self }: IncomingContext): { from: string; chat: string; isGroup: boolean; fromLid?: string } | undefined {
  const { key } = message
  if (!key.remoteJid) return undefined
  const isGroup = Boolean(isJidGroup(key.remoteJid))
  // The other side of a direct chat; in a group, the participant who wrote.
  const counterpart = isGroup ? person([key.participantAlt, key.participant], resolve) : person([key.remoteJidAlt, key.remoteJid], resolve)
  const sender = key.fromMe && self ? { jid: jidNormalizedUser(self) } : counterpart
  if (!sender) return undefined
  return {
    from: sender.jid,
    chat: isGroup ? key.remoteJid : (counterpart?.jid ?? key.remoteJid),
    isGroup,
    ...(sender.lid && { fromLid: sender.lid }),
  }
}

/** `described`: the content's fields when the caller read them itself (a decrypted poll vote). */
export function toMessageEvent(message: WAMessage, context: IncomingContext, described?: ContentFields): MessageEvent | undefined {
  const { key } = message
  if (!key.remoteJid || !key.id) return undefined
  const content = described ?? describeContent(message.message)
  if (!content) return undefined
  const address = addressOf(message, context)
  if (!address) return undefined
  const { quotedMessageID, mentions, media, location, contacts, reaction, poll, vote, ptt, gifPlayback, seconds, ...base } = content
  // The contract's fields first, in its order; the additions after.
  return {
    from: address.from,
    chat: address.chat,
    messageID: key.id,
    pushName: message.pushName ?? '',
    timestamp: toIso(message.messageTimestamp),
    ...base,
    isGroup: address.isGroup,
    ...(key.fromMe && { fromMe: true }),
    ...(address.fromLid && { fromLid: address.fromLid }),
    ...(quotedMessageID && { quotedMessageID }),
    ...(mentions && { mentions }),
    ...(ptt && { ptt }),
    ...(gifPlayback && { gifPlayback }),
    ...(seconds !== undefined && { seconds }),
    ...(media && { media }),
    ...(location && { location }),
    ...(contacts && { contacts }),
    ...(reaction && { reaction }),
    ...(poll && { poll }),
    ...(vote && { vote }),
  }
}

/**
 * Message ids already turned into events, so a redelivered message is not announced twice; at the
 * first message after a start they are read back from the event log, so that also holds across a
 * restart (WhatsApp delivers again what it had no receipt for, some of it stored already).
 */
const SEEN_LIMIT = 5_000

/** A decrypted message handed to take(), and who waits for it to be stored. */
export interface TakenMessage {
  message: WAMessage
  stored(): void
  failed(error: unknown): void
}

export interface IncomingDependencies {
  contacts: ContactBook
  events: EventLog
  /** The paired device's own JID, when paired. */
  self(): string | undefined
  /** Baileys' own LID store on the current socket, if there is one. */
  lidStore(): { getPNForLID(lid: string): Promise<string | null | undefined> } | undefined
  /** Downloads and keeps incoming media; without it a media message's event has no `media`. */
  media?: IncomingMedia | undefined
  /** Decrypts votes on this account's polls; without it votes are not announced. */
  polls?: PollVoteContext | undefined
}

/**
 * The inbound path of one session: learns LID <-> phone pairs from each message, drops duplicates,
 * status broadcasts and newsletters, and records the rest as `message` events.
 */
export class IncomingMessages {
  private readonly seen = new Set<string>()
  private readonly sent = new Set<string>()
  /** Messages handed over by take(): Baileys emits the same objects in messages.upsert afterwards. */
  private readonly taken = new WeakSet<WAMessage>()
  private seenLoaded: Promise<void> | undefined

  constructor(private readonly deps: IncomingDependencies) {}

  /** A message this device sent: WhatsApp echoes it back, and it is not an incoming message. */
  sentByUs(id: string): void {
    remember(this.sent, id)
  }

  /**
   * A message just decrypted, still waiting for its turn: its media starts downloading now, so that
   * the downloads of messages decrypted together overlap while their events are recorded in order.
   */
  prepare(message: WAMessage): void {
    const { id, remoteJid } = message.key
    if (!id || !remoteJid || !this.deps.media || this.seen.has(id) || this.sent.has(id)) return
    const part = mediaPartOf(message.message)
    if (part) void this.deps.media.start(id, remoteJid, part).catch(() => {})
  }

  /**
   * Messages Baileys decrypted while the previous ones were being stored, in arrival order. Each
   * entry hears `stored` once its event is committed (or once it is known to need none) and
   * `failed` if that failed (no receipt then: WhatsApp delivers it again), and they hear it in the
   * order of the entries (the connection writes each message's Signal keys after its event, in
   * order). Their events are recorded without one waiting for the other, so the log's group commit
   * writes them in a few transactions rather than one each; the last one settled, it resolves.
   */
  async take(entries: readonly TakenMessage[]): Promise<void> {
    const outcomes = await this.begin(entries.map((entry) => entry.message))
    let previous: Promise<unknown> = Promise.resolve()
    const settled = outcomes.map((outcome, at) => {
      const entry = entries[at]!
      // Settled in the entries' order: a message that needed no event does not overtake one before it.
      const inOrder = previous.then(() => outcome)
      previous = inOrder.catch(() => {})
      return inOrder.then(
        () => {
          this.taken.add(entry.message)
          entry.stored()
        },
        (error: unknown) => entry.failed(error),
      )
    })
    await Promise.all(settled)
  }

  /** Messages Baileys emitted (messages.upsert) that take() did not have; rejects if one was not stored. */
  async handle(messages: WAMessage[]): Promise<void> {
    const outcomes = await this.begin(messages)
    const results = await Promise.allSettled(outcomes)
    const failure = results.find((result) => result.status === 'rejected')
    if (failure) throw failure.reason
  }

  /**
   * Starts recording each message's event, in order (what comes before the record, such as
   * learning its LID pair or waiting for its media, is awaited message by message). A promise per
   * message settles once its event is committed; each already has a handler, so a failure before
   * the caller looks at it is not an unhandled rejection. Throws only if the log of message ids
   * already seen cannot be read, before anything is recorded.
   */
  private async begin(messages: readonly WAMessage[]): Promise<Array<Promise<void>>> {
    this.seenLoaded ??= this.loadSeen()
    await this.seenLoaded
    const self = this.deps.self()
    const recording = new Set<string>()
    const outcomes: Array<Promise<void>> = []
    for (const message of messages) {
      let outcome: Promise<void>
      try {
        outcome = (await this.beginOne(message, self, recording))?.committed ?? Promise.resolve()
      } catch (error) {
        outcome = Promise.reject(error)
      }
      outcome.catch(() => {})
      outcomes.push(outcome)
    }
    return outcomes
  }

  /** Records one message's event; `committed` settles with its transaction. Undefined: it needs none. */
  private async beginOne(message: WAMessage, self: string | undefined, recording: Set<string>): Promise<{ committed: Promise<void> } | undefined> {
    const { contacts, events } = this.deps
    const id = message.key.id
    if (!id || this.taken.has(message) || this.seen.has(id) || this.sent.has(id) || recording.has(id)) return undefined
    const { remoteJid, remoteJidAlt, participant, participantAlt } = message.key
    // Message keys carry both forms of an address: learn the pair whenever both are there.
    const pairs = [
      [remoteJid, remoteJidAlt],
      [participant, participantAlt],
    ].flatMap(([a, b]) => (a && b ? [isLidJid(a) ? { lid: a, pn: b } : { lid: b, pn: a }] : []))
    if (pairs.length) await contacts.rememberMappings(pairs)
    await this.learnFromBaileys([remoteJid, participant])
    if (remoteJid === 'status@broadcast' || remoteJid?.endsWith('@newsletter')) return undefined
    const context = { resolve: contacts.resolve, self }
    const change = changeOf(message.message)
    let recorded: Promise<unknown> | undefined
    if (change) recorded = this.recordChange(message, change, context)
    else {
      const vote = this.deps.polls ? await decryptVote(message, this.deps.polls) : undefined
      const event = toMessageEvent(message, context, vote && { type: 'poll_vote', text: vote.options.join(', '), vote })
      if (!event) return undefined
      const part = this.deps.media && !message.key.fromMe ? mediaPartOf(message.message) : undefined
      // Waits for this message's own download only (started at decryption, see prepare()).
      if (part) event.media = await this.deps.media!.start(id, message.key.remoteJid!, part)
      recorded = events.record('message', event)
    }
    if (!recorded) return undefined
    recording.add(id)
    // Only once stored: a message whose event failed is taken again when it comes back.
    return { committed: recorded.then(() => remember(this.seen, id)) }
  }

  /** An edit or a deletion for everyone, as `message.edited` / `message.revoked`; undefined if it names nobody. */
  private recordChange(message: WAMessage, change: MessageChange, context: IncomingContext): Promise<unknown> | undefined {
    const address = addressOf(message, context)
    if (!address) return undefined
    const common = { messageID: change.messageID, chat: address.chat, from: address.from, isGroup: address.isGroup, timestamp: toIso(message.messageTimestamp) }
    if (change.kind === 'edited') return this.deps.events.record('message.edited', { ...common, text: change.text })
    return this.deps.events.record('message.revoked', common)
  }

  /** The ids of the newest message events in the log (a failed read is tried again next time). */
  private async loadSeen(): Promise<void> {
    try {
      const logged = await this.deps.events.list({ limit: SEEN_LIMIT, type: 'message' })
      // Newest first: oldest are remembered first, so they are the first to be forgotten.
      for (const { data } of logged.reverse()) if (typeof data.messageID === 'string') remember(this.seen, data.messageID)
    } catch (error) {
      this.seenLoaded = undefined
      throw error
    }
  }

  /**
   * Baileys keeps LID mappings of its own (from history sync among others; it does not always
   * announce them): ask it about LIDs we cannot resolve yet, and remember what it knows.
   */
  private async learnFromBaileys(jids: Array<string | null | undefined>): Promise<void> {
    const store = this.deps.lidStore()
    if (!store) return
    for (const jid of jids) {
      if (!jid || !isLidJid(jid) || this.deps.contacts.resolve(jid)) continue
      const pn = await store.getPNForLID(jid).catch(() => null)
      if (pn) await this.deps.contacts.rememberMappings([{ lid: jid, pn }])
    }
  }
}

function remember(set: Set<string>, id: string): void {
  set.add(id)
  if (set.size > SEEN_LIMIT) set.delete(set.values().next().value!)
}
