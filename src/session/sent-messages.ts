// Messages this device sent, kept so Baileys' getMessage can answer when a recipient's phone asks
// for a message again (a retry receipt). Without it the recipient sees "Waiting for this message".
// Also what a reply quotes, and how a reaction, edit or deletion knows a message is this account's.
// Bounded by count and age: old messages are never asked for again.
import { proto, type WAMessageContent } from '@whiskeysockets/baileys'
import type { Db } from '../store/database.js'

export interface SentMessageLimits {
  maxCount: number
  maxAgeMs: number
}

export const DEFAULT_SENT_MESSAGE_LIMITS: SentMessageLimits = { maxCount: 5_000, maxAgeMs: 7 * 24 * 60 * 60_000 }

export class SentMessageStore {
  private sinceTrim = 0

  constructor(
    private readonly db: Db,
    private readonly session: string,
    private readonly limits: SentMessageLimits = DEFAULT_SENT_MESSAGE_LIMITS,
  ) {}

  async save(id: string, jid: string, content: WAMessageContent): Promise<void> {
    const bytes = Buffer.from(proto.Message.encode(content).finish())
    const session = this.session
    await this.db.sentMessage.upsert({ where: { session_id: { session, id } }, create: { session, id, jid, content: bytes }, update: { jid, content: bytes } })
    // Trimming is a scan: do it every so often, not on every send.
    if (++this.sinceTrim >= 100) {
      this.sinceTrim = 0
      await this.trim()
    }
  }

  async get(id: string): Promise<WAMessageContent | undefined> {
    return (await this.find(id))?.content
  }

  /** A sent message with the chat it went to: what a reply quotes, a reaction or deletion targets. */
  async find(id: string): Promise<{ jid: string; content: WAMessageContent } | undefined> {
    const row = await this.db.sentMessage.findUnique({ where: { session_id: { session: this.session, id } } })
    return row ? { jid: row.jid, content: proto.Message.decode(row.content) } : undefined
  }

  async trim(): Promise<void> {
    const session = this.session
    await this.db.sentMessage.deleteMany({ where: { session, createdAt: { lt: new Date(Date.now() - this.limits.maxAgeMs) } } })
    const keep = await this.db.sentMessage.findMany({ where: { session }, orderBy: { createdAt: 'desc' }, skip: this.limits.maxCount - 1, take: 1, select: { createdAt: true } })
    if (keep[0]) await this.db.sentMessage.deleteMany({ where: { session, createdAt: { lt: keep[0].createdAt } } })
  }
}
