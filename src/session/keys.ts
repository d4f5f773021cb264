// Session keys: API keys that reach one session's routes only (API_KEY, the admin key, reaches
// everything). A key is shown once, when it is made; the store keeps its SHA-256 hash, so a copy of
// the database does not hand out working keys. Keys are 32 random bytes, so a plain hash is enough
// (there is nothing to guess that a slow hash would protect).
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { z } from 'zod'
import { isoTimestamp } from '../events/types.js'
import type { Db } from '../store/database.js'

export const sessionKeySchema = z
  .object({
    id: z.string().describe('Names the key, e.g. to revoke it; not the key itself'),
    session: z.string(),
    createdAt: isoTimestamp,
  })
  .meta({ id: 'SessionKey' })
export type SessionKeyView = z.infer<typeof sessionKeySchema>

const PREFIX = 'wsk_'
const hashOf = (key: string) => createHash('sha256').update(key).digest('hex')

export class SessionKeys {
  constructor(private readonly db: Db) {}

  /** A new key for `session`; the only time the key itself is returned. */
  async create(session: string): Promise<SessionKeyView & { key: string }> {
    const key = PREFIX + randomBytes(32).toString('base64url')
    const row = await this.db.sessionKey.create({ data: { id: randomUUID(), session, hash: hashOf(key) } })
    return { id: row.id, session, createdAt: row.createdAt.toISOString(), key }
  }

  async list(session: string, options: { limit: number; after?: string | undefined }): Promise<SessionKeyView[]> {
    const rows = await this.db.sessionKey.findMany({
      where: { session, ...(options.after && { id: { gt: options.after } }) },
      orderBy: { id: 'asc' },
      take: options.limit,
    })
    return rows.map((row) => ({ id: row.id, session: row.session, createdAt: row.createdAt.toISOString() }))
  }

  /** Whether a key with this id existed for the session (and is gone now). */
  async revoke(session: string, id: string): Promise<boolean> {
    const { count } = await this.db.sessionKey.deleteMany({ where: { session, id } })
    return count === 1
  }

  /**
   * The session a presented key belongs to, if it is a session key. Looked up by hash through a
   * unique index: the presented key is never compared byte by byte with a stored one, so the time
   * taken says nothing about how close a guess was.
   */
  async sessionOf(presented: string): Promise<string | undefined> {
    if (!presented.startsWith(PREFIX)) return undefined
    const row = await this.db.sessionKey.findUnique({ where: { hash: hashOf(presented) }, select: { session: true } })
    return row?.session
  }
}
