// Reading a session's chats and stored messages back (GET /api/chats, /api/chats/{jid}/messages,
// /api/messages/{id}). From the store alone, so any process answers, and without Baileys.
//
// Every list is a range scan of one index in its own order, never a sort of the matches: a chat's
// messages walk (session, chat[, type | sender], sentAt, seq) from the cursor, chats walk
// (session, activityAt, jid). A cursor is "at or before this time", minus the few rows of that same
// time already shown, which keeps the condition a plain index range on every database.
import type { Db, Prisma } from '../store/database.js'
import { isGroupJid, isLidJid } from '../session/jids.js'
import {
  chatCursor,
  messageCursor,
  statusName,
  type ChatPosition,
  type ChatView,
  type MessageData,
  type MessagePage,
  type MessagePosition,
  type StoredMessage,
} from './shapes.js'

type MessageRow = Prisma.MessageGetPayload<object>
type ChatRow = Prisma.ChatGetPayload<object>

export interface MessageQuery {
  chat: string
  limit: number
  /** Only messages older than this position (the page before it). */
  before?: MessagePosition | undefined
  /** Only messages newer than this position (the page after it). */
  after?: MessagePosition | undefined
  type?: string | undefined
  sender?: string | undefined
  since?: Date | undefined
  until?: Date | undefined
}

export interface ChatQuery {
  limit: number
  after?: ChatPosition | undefined
}

export class MessageHistory {
  constructor(
    private readonly db: Db,
    private readonly session: string,
  ) {}

  async message(id: string): Promise<StoredMessage | undefined> {
    const row = await this.db.message.findUnique({ where: { session_id: { session: this.session, id } } })
    return row ? toStoredMessage(row) : undefined
  }

  /** A page of one chat's messages, oldest first: the newest ones, or those before/after a cursor. */
  async messages(query: MessageQuery): Promise<MessagePage> {
    const { before, after, limit } = query
    const chat = await this.canonicalJid(query.chat)
    const sender = query.sender === undefined ? undefined : await this.canonicalJid(query.sender)
    const base: Prisma.MessageWhereInput = {
      session: this.session,
      chat,
      ...(query.type !== undefined && { type: query.type }),
      ...(sender !== undefined && { sender }),
    }
    const window = { ...(query.since && { gte: query.since }), ...(query.until && { lte: query.until }) }
    // Walking forward from `after` (between `after` and `before` when both are given), else backward
    // from `before` or from the newest.
    const where: Prisma.MessageWhereInput = {
      ...base,
      AND: [{ sentAt: window }, ...(before ? beyond(before, 'older') : []), ...(after ? beyond(after, 'newer') : [])],
    }
    const order = after ? 'asc' : 'desc'
    const rows = await this.db.message.findMany({ where, orderBy: [{ sentAt: order }, { seq: order }], take: limit + 1 })
    const more = rows.length > limit
    const page = rows.slice(0, limit)
    if (order === 'desc') page.reverse()
    const messages = page.map(toStoredMessage)
    const first = page[0]
    const last = page.at(-1)
    // The far end of the walk is known from the extra row read. The near end is the cursor the
    // caller came from (something lies there), or the newest message when there was none.
    const olderExists = order === 'desc' ? more : true
    const newerExists = order === 'asc' ? more || before !== undefined : before !== undefined
    return {
      messages,
      older: first && olderExists ? messageCursor(positionOf(first)) : null,
      newer: last && newerExists ? messageCursor(positionOf(last)) : null,
    }
  }

  /** Chats, newest activity first. */
  async chats(query: ChatQuery): Promise<{ chats: ChatView[]; next: string | null }> {
    const { after, limit } = query
    const rows = await this.db.chat.findMany({
      where: {
        session: this.session,
        ...(after && { AND: [{ activityAt: { lte: new Date(after.at) } }, { NOT: { activityAt: new Date(after.at), jid: { gte: after.jid } } }] }),
      },
      orderBy: [{ activityAt: 'desc' }, { jid: 'desc' }],
      take: limit + 1,
    })
    const page = rows.slice(0, limit)
    const chats = await this.describeChats(page)
    const last = page.at(-1)
    return { chats, next: rows.length > limit && last ? chatCursor({ at: last.activityAt.getTime(), jid: last.jid }) : null }
  }

  /** A person's JID as chats and senders are stored: the phone-number JID when the LID's number is known. */
  private async canonicalJid(jid: string): Promise<string> {
    if (!isLidJid(jid)) return jid
    const mapping = await this.db.lidMapping.findUnique({ where: { session_lid: { session: this.session, lid: jid } } })
    return mapping?.pn ?? jid
  }

  /** Chat rows with their names, numbers, LIDs and last messages: three lookups for the whole page. */
  private async describeChats(rows: ChatRow[]): Promise<ChatView[]> {
    const session = this.session
    const people = rows.filter((row) => !isGroupJid(row.jid)).map((row) => row.jid)
    const lastIds = rows.flatMap((row) => (row.lastMessageId ? [row.lastMessageId] : []))
    const [contacts, byPn, byLid, lastMessages] = await Promise.all([
      people.length ? this.db.contact.findMany({ where: { session, jid: { in: people } } }) : [],
      people.length ? this.db.lidMapping.findMany({ where: { session, pn: { in: people } } }) : [],
      people.length ? this.db.lidMapping.findMany({ where: { session, lid: { in: people } } }) : [],
      lastIds.length ? this.db.message.findMany({ where: { session, id: { in: lastIds } } }) : [],
    ])
    const contactOf = new Map(contacts.map((c) => [c.jid, c]))
    const lidOf = new Map(byPn.map((m) => [m.pn, m.lid]))
    const pnOf = new Map(byLid.map((m) => [m.lid, m.pn]))
    const messageOf = new Map(lastMessages.map((m) => [m.id, m]))
    return rows.map((row) => {
      const isGroup = isGroupJid(row.jid)
      const isLid = isLidJid(row.jid)
      const contact = contactOf.get(row.jid)
      const pn = isGroup ? undefined : isLid ? pnOf.get(row.jid) : row.jid
      const last = row.lastMessageId ? messageOf.get(row.lastMessageId) : undefined
      return {
        jid: row.jid,
        isGroup,
        phone: pn ? (pn.split('@')[0] ?? null) : null,
        lid: isGroup ? null : isLid ? row.jid : (contact?.lid ?? lidOf.get(row.jid) ?? null),
        name: row.name ?? contact?.name ?? contact?.verifiedName ?? contact?.notify ?? null,
        unreadCount: row.unreadCount,
        lastActivityAt: row.activityAt.toISOString(),
        lastMessage: last ? toStoredMessage(last) : null,
      }
    })
  }
}

const positionOf = (row: MessageRow): MessagePosition => ({ at: row.sentAt.getTime(), seq: row.seq })

/**
 * The messages on one side of a position: at or beyond its time, minus the ones of that same time on
 * the wrong side of its arrival number. Both halves are plain index ranges.
 */
function beyond(from: MessagePosition, side: 'older' | 'newer'): Prisma.MessageWhereInput[] {
  const at = new Date(from.at)
  return side === 'older'
    ? [{ sentAt: { lte: at } }, { NOT: { sentAt: at, seq: { gte: from.seq } } }]
    : [{ sentAt: { gte: at } }, { NOT: { sentAt: at, seq: { lte: from.seq } } }]
}

export function toStoredMessage(row: MessageRow): StoredMessage {
  const data = JSON.parse(row.data) as MessageData
  const receipts = row.receipts ? (JSON.parse(row.receipts) as Record<string, { deliveredAt?: string; readAt?: string }>) : undefined
  return {
    ...data,
    // The columns win: a chat first kept under a LID is moved to the number later (store.ts).
    chat: row.chat,
    from: row.sender,
    type: data.type ?? 'other',
    ...(row.deletedAt && { text: '', caption: undefined }),
    status: statusName(row.status),
    edited: row.editedAt !== null,
    editedAt: row.editedAt?.toISOString() ?? null,
    deleted: row.deletedAt !== null,
    deletedAt: row.deletedAt?.toISOString() ?? null,
    ...(receipts && { receipts: Object.entries(receipts).map(([jid, r]) => ({ jid, deliveredAt: r.deliveredAt ?? null, readAt: r.readAt ?? null })) }),
    cursor: messageCursor(positionOf(row)),
  }
}
