// The message store's writing side: one session's messages and chats, kept from what its Baileys
// socket emits. The connection calls attach(socket) for each socket it opens; everything else is here.
//
//   messages.upsert (notify, append; own sends come back as append)  -> a message row, its chat row
//   messages.update (status, edit, revoke), message-receipt.update   -> the row changes
//   messages.delete, chats.delete                                   -> rows go
//   messaging-history.set (at pairing; on demand with WA_SYNC_FULL_HISTORY) -> the same rows, in batches
//   chats.upsert/update, groups.upsert/update                        -> chat names and unread counts
//
// Work runs one event at a time in arrival order (a status update must find the message its upsert
// wrote), and a failure is logged, never thrown into Baileys. Messages older than
// MESSAGE_RETENTION_DAYS are pruned in small batches that yield to the event loop.
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { BaileysEventMap, Chat as BaileysChat, GroupMetadata, WAMessage, WAMessageKey, WAMessageUpdate, MessageUserReceiptUpdate } from '@whiskeysockets/baileys'
import { isJidGroup, jidNormalizedUser } from '@whiskeysockets/baileys'
import type { Logger } from '../logger.js'
import { rawSqlOf, sqlFragment, sqlList, type Db, type Sql } from '../store/database.js'
import type { LidResolver } from '../session/incoming.js'
import { changesOf, nextStatus, toRecord, withContent, type MessageChange, type MessageRecord } from './record.js'
import { STATUS } from './shapes.js'
import { isLidJid } from '../session/jids.js'

export interface MessageStoreOptions {
  db: Db
  session: string
  logger: Logger
  /** MESSAGE_RETENTION_DAYS: 0 keeps no message (chats are still kept). */
  retentionDays: number
  /** LID -> phone-number JID, as the contacts book knows it. */
  resolve: LidResolver
}

/** What the store needs of a Baileys socket. */
export interface MessageSource {
  ev: { on<T extends keyof BaileysEventMap>(event: T, listener: (data: BaileysEventMap[T]) => void): void }
  user?: { id: string } | undefined
}

const DAY_MS = 24 * 60 * 60_000
const PRUNE_EVERY_MS = 60 * 60_000
/** Rows per statement when pruning, deleting a chat, or writing a history chunk. */
export const BATCH = 500
/** Updates that arrived before their message, held until it does (bounded). */
const PENDING_LIMIT = 2_000

type Context = Parameters<typeof toRecord>[1]
type ChatState = { activityAt: Date; lastMessageId: string | null; unreadCount: number }

/**
 * A chat's last activity, last message and unread count after one more of its messages: a message
 * received counts one more (live or from the backlog of a reconnect, not from history), one sent
 * (through the API or from the phone) means the chat was read. `kept`: the message itself is stored.
 */
function nextChatState(chat: ChatState | undefined, record: MessageRecord, kept: boolean, { history }: { history: boolean }): ChatState {
  const newer = !chat || record.sentAt >= chat.activityAt
  const counts = !history && !record.fromMe && record.type !== 'reaction'
  const unreadCount = record.fromMe && !history ? 0 : (chat?.unreadCount ?? 0) + (counts ? 1 : 0)
  // A chat known from history before any of its messages has no last message yet: this one is it.
  const last = kept && (newer || !chat?.lastMessageId)
  return {
    activityAt: newer ? record.sentAt : chat.activityAt,
    lastMessageId: last ? record.id : (chat?.lastMessageId ?? null),
    unreadCount,
  }
}

export class MessageStore {
  private work: Promise<unknown> = Promise.resolve()
  private lastPrune = 0
  /** Emitted messages waiting for the queue's next turn (see queueUpsert). */
  private upserts: Array<{ message: WAMessage; context: Context }> | undefined
  private readonly pending = new Map<string, MessageChange[]>()
  /** LIDs whose chat was already moved under the person's number (or had none). */
  private readonly folded = new Set<string>()
  private readonly log: Logger

  constructor(private readonly options: MessageStoreOptions) {
    this.log = options.logger.child({ module: 'messages', session: options.session })
  }

  /** Keeps what this socket emits. Called for every socket the connection opens. */
  attach(socket: MessageSource): void {
    const context = () => ({ resolve: this.options.resolve, self: socket.user?.id })
    const { ev } = socket
    ev.on('messages.upsert', ({ messages }) => this.queueUpsert(messages, context()))
    ev.on('messages.update', (updates) => this.enqueue(() => this.update(updates, context())))
    ev.on('message-receipt.update', (receipts) => this.enqueue(() => this.receipts(receipts)))
    ev.on('messages.delete', (what) => this.enqueue(() => ('keys' in what ? this.deleteMessages(what.keys) : this.clearChat(what.jid))))
    ev.on('messaging-history.set', ({ chats, messages }) => this.enqueue(() => this.history(chats, messages, context())))
    ev.on('chats.upsert', (chats) => this.enqueue(() => this.chatDetails(chats)))
    ev.on('chats.update', (chats) => this.enqueue(() => this.chatDetails(chats)))
    ev.on('chats.delete', (jids) => this.enqueue(async () => { for (const jid of jids) await this.clearChat(jid, { dropChat: true }) }))
    ev.on('groups.upsert', (groups) => this.enqueue(() => this.groupNames(groups)))
    ev.on('groups.update', (groups) => this.enqueue(() => this.groupNames(groups)))
    ev.on('lid-mapping.update', ({ lid, pn }) => this.enqueue(() => this.foldLidChat(jidNormalizedUser(lid), jidNormalizedUser(pn))))
    this.enqueue(() => this.pruneIfDue())
  }

  /** Resolves once everything emitted so far is written (the connection waits for it when it stops). */
  async settled(): Promise<void> {
    let seen: Promise<unknown>
    do {
      seen = this.work
      await seen
    } while (seen !== this.work)
  }

  /** Deletes messages older than the retention, BATCH rows at a time. */
  async prune(now = Date.now()): Promise<number> {
    const { db, session } = this.options
    const cutoff = new Date(now - this.options.retentionDays * DAY_MS)
    let deleted = 0
    for (;;) {
      const rows = await db.message.findMany({ where: { session, sentAt: { lt: cutoff } }, select: { seq: true }, take: BATCH })
      if (rows.length === 0) return deleted
      deleted += (await db.message.deleteMany({ where: { seq: { in: rows.map((row) => row.seq) } } })).count
      await nextTurn()
    }
  }

  // ---- handlers -------------------------------------------------------------------------------

  private enqueue(step: () => Promise<unknown>): void {
    this.work = this.work.then(step).catch((error) => this.log.error({ err: error }, 'keeping messages failed'))
  }

  /**
   * Messages emitted while earlier work is still being written wait together for their turn, and are
   * then written in one go (see saveAll): Baileys emits a burst one message at a time, and a few
   * statements per message were most of what a burst cost.
   */
  private queueUpsert(messages: WAMessage[], context: Context): void {
    if (!this.upserts) {
      const waiting: Array<{ message: WAMessage; context: Context }> = []
      this.upserts = waiting
      this.enqueue(async () => {
        if (this.upserts === waiting) this.upserts = undefined
        await this.upsert(waiting)
      })
    }
    for (const message of messages) this.upserts.push({ message, context })
  }

  private async upsert(messages: ReadonlyArray<{ message: WAMessage; context: Context }>): Promise<void> {
    const records = messages.flatMap(({ message, context }) => toRecord(message, context) ?? [])
    for (let i = 0; i < records.length; i += BATCH) {
      await this.saveAll(records.slice(i, i + BATCH))
      if (i + BATCH < records.length) await nextTurn()
    }
    await this.pruneIfDue()
  }

  /**
   * New messages, in order: one read of the ones already stored, then runs of them written in one
   * transaction each (the new rows in one statement, each chat's final state). What cannot go in
   * bulk (a message seen before, one that moves a LID chat, updates that arrived before it, the same
   * id twice) goes through save() on its own, between the runs before and after it.
   */
  private async saveAll(records: MessageRecord[]): Promise<void> {
    const known = this.keepsMessages() ? await this.knownIds(records.map((record) => record.id)) : new Set<string>()
    const ids = new Set<string>()
    let run: MessageRecord[] = []
    for (const record of records) {
      const lid = record.data.fromLid
      const folds = lid && !record.data.isGroup && record.chat !== lid && !this.folded.has(lid)
      if (folds || ids.has(record.id) || known.has(record.id) || this.pending.has(record.id)) {
        await this.saveRun(run)
        run = []
        await this.save(record)
      } else run.push(record)
      ids.add(record.id)
    }
    await this.saveRun(run)
  }

  /**
   * New messages none of which is stored yet, nor waits for anything: one transaction. Plain SQL on
   * the client's connection (src/store/raw-sql.ts), like the other statements of every message.
   */
  private async saveRun(records: MessageRecord[]): Promise<void> {
    if (records.length === 0) return
    const cutoff = this.cutoff()
    const kept = this.keepsMessages() ? records.filter((record) => record.sentAt.getTime() >= cutoff) : []
    const chats = await this.chatsAfter(records, kept)
    await rawSqlOf(this.options.db).transaction(async (tx) => {
      if (kept.length) await tx.execute(this.insertRows(kept))
      for (const chat of chats) await tx.execute(chat)
    })
  }

  /** Which of these message ids are stored already. */
  private async knownIds(ids: string[]): Promise<Set<string>> {
    const rows = await rawSqlOf(this.options.db).query<{ id: string }>(sqlFragment`SELECT "id" FROM "Message" WHERE "session" = ${this.options.session} AND "id" IN (${sqlList(ids)})`)
    return new Set(rows.map((row) => row.id))
  }

  /** Each chat's row after these new messages (as touchChat would leave it), as statements. */
  private async chatsAfter(records: MessageRecord[], kept: MessageRecord[]): Promise<Sql[]> {
    const { db, session } = this.options
    const keptIds = new Set(kept.map((record) => record.id))
    const jids = [...new Set(records.map((record) => record.chat))]
    const rows = await rawSqlOf(db).query<{ jid: string; activityAt: Date; lastMessageId: string | null; unreadCount: number | bigint }>(
      sqlFragment`SELECT "jid", "activityAt", "lastMessageId", "unreadCount" FROM "Chat" WHERE "session" = ${session} AND "jid" IN (${sqlList(jids)})`,
    )
    const stored = new Map(rows.map((chat) => [chat.jid, { ...chat, unreadCount: Number(chat.unreadCount) }]))
    const after = new Map<string, ChatState>()
    for (const record of records) {
      const before = after.get(record.chat) ?? stored.get(record.chat)
      after.set(record.chat, nextChatState(before, record, keptIds.has(record.id), { history: false }))
    }
    return [...after].flatMap(([jid, state]) => this.chatWrite(jid, stored.get(jid), state) ?? [])
  }

  /** The statement that takes a chat row from `before` (none: not stored) to `state`; none if nothing changes. */
  private chatWrite(jid: string, before: ChatState | undefined, state: ChatState): Sql | undefined {
    const { session } = this.options
    if (!before) {
      return sqlFragment`INSERT INTO "Chat" ("session", "jid", "activityAt", "lastMessageId", "unreadCount") VALUES (${session}, ${jid}, ${state.activityAt}, ${state.lastMessageId}, ${state.unreadCount})`
    }
    if (before.activityAt.getTime() === state.activityAt.getTime() && before.lastMessageId === state.lastMessageId && before.unreadCount === state.unreadCount) return undefined
    return sqlFragment`UPDATE "Chat" SET "activityAt" = ${state.activityAt}, "lastMessageId" = ${state.lastMessageId}, "unreadCount" = ${state.unreadCount} WHERE "session" = ${session} AND "jid" = ${jid}`
  }

  /** Writes a message (or merges it into the stored one) and moves its chat. */
  private async save(record: MessageRecord): Promise<void> {
    const { db, session } = this.options
    // A person first seen by LID alone, now with their number: their chat moves under the number.
    const lid = record.data.fromLid
    if (lid && !record.data.isGroup && record.chat !== lid) await this.foldLidChat(lid, record.chat)
    if (this.keepsMessages() && record.sentAt.getTime() >= this.cutoff()) {
      const stored = await db.message.findUnique({ where: { session_id: { session, id: record.id } } })
      if (stored) {
        // Seen again (a redelivery, our own send echoed, history overlapping live messages): only what moved on.
        await db.message.update({
          where: { seq: stored.seq },
          data: {
            status: nextStatus(stored.status, record.status),
            ...(record.deletedAt && !stored.deletedAt && { deletedAt: record.deletedAt }),
            ...(record.editedAt && { editedAt: record.editedAt, data: JSON.stringify(record.data), type: record.type }),
          },
        })
        return
      }
      await db.message.create({ data: this.row(record) })
      const early = this.pending.get(record.id)
      if (early) {
        this.pending.delete(record.id)
        await this.apply(record.id, early, { resolve: this.options.resolve, self: undefined })
      }
    }
    await this.touchChat(record, { history: false })
  }

  /**
   * The INSERT of new messages (none of them stored yet), one statement however many. Plain SQL: the
   * query builder's createMany spent more CPU turning the rows into its request than SQLite spent
   * writing them, and this runs for every incoming message (issue 18, storm budget). The values are
   * the ones row() gives the query builder, bound the same way (dates and booleans as Prisma writes them).
   */
  private insertRows(records: MessageRecord[]): Sql {
    const rows = records.map((record) => {
      const row = this.row(record)
      return sqlFragment`(${row.session}, ${row.id}, ${row.chat}, ${row.sender}, ${row.fromMe}, ${row.type}, ${row.sentAt}, ${row.status}, ${row.data}, ${row.editedAt}, ${row.deletedAt})`
    })
    return sqlFragment`INSERT INTO "Message" ("session", "id", "chat", "sender", "fromMe", "type", "sentAt", "status", "data", "editedAt", "deletedAt") VALUES ${sqlList(rows)}`
  }

  private row(record: MessageRecord) {
    return {
      session: this.options.session,
      id: record.id,
      chat: record.chat,
      sender: record.sender,
      fromMe: record.fromMe,
      type: record.type,
      sentAt: record.sentAt,
      status: record.status,
      data: JSON.stringify(record.data),
      editedAt: record.editedAt,
      deletedAt: record.deletedAt,
    }
  }

  /**
   * The chat's last activity and last message, and its unread count: a message received counts one
   * more (live or from the backlog of a reconnect, not from history), one sent (through the API or
   * from the phone) means the chat was read.
   */
  private async touchChat(record: MessageRecord, { history }: { history: boolean }): Promise<void> {
    const { db, session } = this.options
    const chat = await db.chat.findUnique({ where: { session_jid: { session, jid: record.chat } } })
    const kept = this.keepsMessages() && record.sentAt.getTime() >= this.cutoff()
    const write = this.chatWrite(record.chat, chat ?? undefined, nextChatState(chat ?? undefined, record, kept, { history }))
    if (write) await rawSqlOf(db).execute(write)
  }

  private async update(updates: WAMessageUpdate[], context: Context): Promise<void> {
    for (const update of updates) {
      const id = update.key.id
      const changes = changesOf(update)
      if (!id || changes.length === 0) continue
      await this.apply(id, changes, context)
    }
  }

  /** Applies status changes, an edit or a revoke to a stored message; held a while if it is not stored yet. */
  private async apply(id: string, changes: MessageChange[], context: Context): Promise<void> {
    const { db, session } = this.options
    if (!this.keepsMessages()) return
    const stored = await db.message.findUnique({ where: { session_id: { session, id } } })
    if (!stored) {
      // Baileys can report a status before it emits our own send (it emits that on the next tick).
      this.pending.set(id, [...(this.pending.get(id) ?? []), ...changes])
      if (this.pending.size > PENDING_LIMIT) this.pending.delete(this.pending.keys().next().value!)
      return
    }
    let { status, data, editedAt, deletedAt, type } = stored
    for (const change of changes) {
      if (change.kind === 'status') status = nextStatus(status, change.status)
      if (change.kind === 'revoke') deletedAt ??= change.at
      if (change.kind === 'edit') {
        const edited = withContent(JSON.parse(data), change.content, context)
        data = JSON.stringify(edited)
        type = edited.type ?? type
        editedAt = change.at
      }
    }
    await db.message.update({ where: { seq: stored.seq }, data: { status, data, editedAt, deletedAt, type } })
  }

  /** Group messages we sent: each member's delivery and read, and the message's status (its best so far). */
  private async receipts(updates: MessageUserReceiptUpdate[]): Promise<void> {
    const { db, session, resolve } = this.options
    if (!this.keepsMessages()) return
    for (const { key, receipt } of updates) {
      if (!key.id || !receipt.userJid) continue
      const stored = await db.message.findUnique({ where: { session_id: { session, id: key.id } } })
      if (!stored) continue
      const user = jidNormalizedUser(receipt.userJid)
      const member = (isLidJid(user) && resolve(user)) || user
      const all = stored.receipts ? (JSON.parse(stored.receipts) as Record<string, { deliveredAt?: string; readAt?: string }>) : {}
      const entry = { ...all[member] }
      const iso = (seconds: unknown) => new Date(Number(String(seconds)) * 1000).toISOString()
      if (receipt.receiptTimestamp) entry.deliveredAt ??= iso(receipt.receiptTimestamp)
      if (receipt.readTimestamp) entry.readAt ??= iso(receipt.readTimestamp)
      all[member] = entry
      const status = nextStatus(stored.status, receipt.readTimestamp ? STATUS.read : STATUS.delivered)
      await db.message.update({ where: { seq: stored.seq }, data: { receipts: JSON.stringify(all), status } })
    }
  }

  /** "Delete for me" on the phone: the messages go from the store too. */
  private async deleteMessages(keys: WAMessageKey[]): Promise<void> {
    const ids = keys.flatMap((key) => (key.id ? [key.id] : []))
    if (ids.length) await this.options.db.message.deleteMany({ where: { session: this.options.session, id: { in: ids } } })
  }

  /** A chat cleared (or deleted) on the phone: its messages go, BATCH at a time. */
  private async clearChat(jid: string, { dropChat = false } = {}): Promise<void> {
    const { db, session } = this.options
    const chat = this.canonical(jid)
    for (;;) {
      const rows = await db.message.findMany({ where: { session, chat }, select: { seq: true }, take: BATCH })
      if (rows.length === 0) break
      await db.message.deleteMany({ where: { seq: { in: rows.map((row) => row.seq) } } })
      await nextTurn()
    }
    if (dropChat) await db.chat.deleteMany({ where: { session, jid: chat } })
    else await db.chat.updateMany({ where: { session, jid: chat }, data: { lastMessageId: null, unreadCount: 0 } })
  }

  /**
   * A history chunk: its chats (names, unread counts, last activity) and its messages, written
   * BATCH at a time (existing ones skipped), each chat moved once per chunk.
   */
  private async history(chats: BaileysChat[], messages: WAMessage[], context: Context): Promise<void> {
    const { db } = this.options
    await this.chatDetails(chats, { history: true })
    const records = messages.flatMap((message) => toRecord(message, context) ?? [])
    const cutoff = this.cutoff()
    const kept = this.keepsMessages() ? records.filter((record) => record.sentAt.getTime() >= cutoff) : []
    for (let i = 0; i < kept.length; i += BATCH) {
      const batch = kept.slice(i, i + BATCH)
      const known = await this.knownIds(batch.map((r) => r.id))
      const fresh = [...new Map(batch.filter((r) => !known.has(r.id)).map((r) => [r.id, r])).values()]
      if (fresh.length) await rawSqlOf(db).execute(this.insertRows(fresh))
      await nextTurn()
    }
    // The newest message of each chat in the chunk moves that chat (history never counts as unread).
    const newest = new Map<string, MessageRecord>()
    for (const record of records) if ((newest.get(record.chat)?.sentAt ?? 0) < record.sentAt) newest.set(record.chat, record)
    for (const record of newest.values()) await this.touchChat(record, { history: true })
    this.log.info({ chats: chats.length, messages: kept.length }, 'history sync stored')
  }

  /**
   * Moves a chat kept under a LID (the person's number was unknown then) to their phone-number JID:
   * its messages BATCH at a time, then the chat row, merged into the number's if both exist. Once
   * per LID per process: after that, new messages of the person are stored under the number.
   */
  private async foldLidChat(lid: string, pn: string): Promise<void> {
    const { db, session } = this.options
    if (this.folded.has(lid) || !isLidJid(lid) || isLidJid(pn)) return
    this.folded.add(lid)
    if (this.folded.size > PENDING_LIMIT) this.folded.delete(this.folded.values().next().value!)
    const lidChat = await db.chat.findUnique({ where: { session_jid: { session, jid: lid } } })
    for (const column of ['chat', 'sender'] as const) {
      for (;;) {
        const rows = await db.message.findMany({ where: { session, [column]: lid }, select: { seq: true }, take: BATCH })
        if (rows.length === 0) break
        await db.message.updateMany({ where: { seq: { in: rows.map((row) => row.seq) } }, data: { [column]: pn } })
        await nextTurn()
      }
    }
    if (!lidChat) return
    const pnChat = await db.chat.findUnique({ where: { session_jid: { session, jid: pn } } })
    const newest = !pnChat || lidChat.activityAt > pnChat.activityAt ? lidChat : pnChat
    const merged = {
      name: pnChat?.name ?? lidChat.name,
      activityAt: newest.activityAt,
      lastMessageId: newest.lastMessageId ?? pnChat?.lastMessageId ?? lidChat.lastMessageId,
      unreadCount: (pnChat?.unreadCount ?? 0) + lidChat.unreadCount,
    }
    await db.$transaction([
      db.chat.upsert({ where: { session_jid: { session, jid: pn } }, create: { session, jid: pn, ...merged }, update: merged }),
      db.chat.delete({ where: { session_jid: { session, jid: lid } } }),
    ])
  }

  /** Names and unread counts from Baileys' chat events (history sync, the phone marking a chat read or unread). */
  private async chatDetails(chats: Array<Partial<BaileysChat>>, { history = false } = {}): Promise<void> {
    const { db, session } = this.options
    for (const chat of chats) {
      if (!chat.id || chat.id === 'status@broadcast' || chat.id.endsWith('@newsletter')) continue
      const jid = this.canonical(chat.id)
      const name = chat.name ?? undefined
      // Baileys' unreadCount: a positive number is a count of new messages (counted here from the
      // messages themselves), 0 the chat was read, -1 marked unread. History gives the count as is.
      const count = typeof chat.unreadCount === 'number' ? chat.unreadCount : undefined
      const stored = await db.chat.findUnique({ where: { session_jid: { session, jid } } })
      const unreadCount = count === undefined ? undefined : history ? Math.max(0, count) : count === 0 ? 0 : count < 0 ? Math.max(1, stored?.unreadCount ?? 0) : undefined
      const seconds = Number((chat.conversationTimestamp ?? chat.lastMessageRecvTimestamp)?.toString() ?? NaN)
      if (!stored) {
        if (!history && name === undefined) continue
        // No time known: the chat sorts last until a message moves it.
        const activityAt = new Date(Number.isFinite(seconds) ? seconds * 1000 : 0)
        await db.chat.create({ data: { session, jid, activityAt, unreadCount: unreadCount ?? 0, ...(name && { name }) } })
      } else if ((name && name !== stored.name) || (unreadCount !== undefined && unreadCount !== stored.unreadCount)) {
        await db.chat.update({ where: { session_jid: { session, jid } }, data: { ...(name && { name }), ...(unreadCount !== undefined && { unreadCount }) } })
      }
    }
  }

  private async groupNames(groups: Array<Partial<GroupMetadata>>): Promise<void> {
    const { db, session } = this.options
    for (const group of groups) {
      if (group.id && group.subject) await db.chat.updateMany({ where: { session, jid: group.id, OR: [{ name: null }, { name: { not: group.subject } }] }, data: { name: group.subject } })
    }
  }

  // ---- helpers -------------------------------------------------------------------------------

  private keepsMessages(): boolean {
    return this.options.retentionDays > 0
  }

  private cutoff(): number {
    return Date.now() - this.options.retentionDays * DAY_MS
  }

  /** A chat JID as chats are stored: a person by phone-number JID when the LID's number is known. */
  private canonical(jid: string): string {
    if (isJidGroup(jid)) return jid
    const normal = jidNormalizedUser(jid)
    return (isLidJid(normal) && this.options.resolve(normal)) || normal
  }

  private async pruneIfDue(): Promise<void> {
    if (Date.now() - this.lastPrune < PRUNE_EVERY_MS) return
    this.lastPrune = Date.now()
    const deleted = await this.prune()
    if (deleted) this.log.info({ deleted, retentionDays: this.options.retentionDays }, 'pruned old messages')
  }
}
