// The Idempotency-Key of the sends: a send made again with the same key within 24 h answers what
// the first one answered and sends nothing, also after a restart (the rows live in the database).
// One row per session and key: `pending` while the first call runs, then `done` with its answer.
// A duplicate that arrives while the first is still running is refused (409, "in progress") rather
// than made to wait: it cannot hold a request open for up to SEND_TIMEOUT_MS, and the caller's next
// retry gets the stored answer. Errors raised before anything went to WhatsApp (bad input, not
// connected) free the key again so a retry can succeed; any other error is stored and replayed,
// since the message may have gone out.
import { ApiError, describeError, isErrorCode, type ErrorCode, type Issue } from '../errors.js'
import type { Db } from '../store/database.js'

/** How long a key is remembered. */
export const KEY_TTL_MS = 24 * 60 * 60_000
/** Expired rows deleted at most per statement, and how often a session's are looked for. */
const PRUNE_BATCH = 500
const PRUNE_EVERY_MS = 60_000

/** An idempotency key: what a caller may send (Stripe's limit is 255 as well). */
export const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/

/** Errors after which the message was surely not sent: the key is freed for a retry. */
const NOTHING_SENT: ReadonlySet<ErrorCode> = new Set(['VALIDATION_ERROR', 'INVALID_JSON', 'UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'MEDIA_FETCH_FAILED', 'NOT_CONNECTED', 'SESSION_MOVING', 'STORE_UNAVAILABLE', 'CONFLICT'])

type Stored = { data: unknown } | { error: { code: ErrorCode; message: string; issues?: Issue[] } }

export type Claim = { kind: 'first' } | { kind: 'replay'; stored: Stored }

export class IdempotencyStore {
  private readonly prunedAt = new Map<string, number>()
  constructor(private readonly db: Db) {}

  /**
   * Takes `key` for this request, or answers what it already holds: the first call's answer, or a
   * 409 when it is still in flight or was made for another request.
   */
  async claim(session: string, key: string, request: string): Promise<Claim> {
    void this.pruneSometimes(session)
    const since = new Date(Date.now() - KEY_TTL_MS)
    for (let attempt = 0; attempt < 3; attempt++) {
      const row = await this.db.idempotencyKey.findUnique({ where: { session_key: { session, key } } })
      if (row && row.createdAt < since) {
        // Expired but not pruned yet: as if it were not there.
        await this.db.idempotencyKey.deleteMany({ where: { session, key, createdAt: row.createdAt } })
        continue
      }
      if (row) {
        if (row.request !== request) throw new ApiError('CONFLICT', `Idempotency-Key "${key}" was used for a different request in the last 24 hours: use a new key for a new request`, { issues: [{ path: 'Idempotency-Key', message: 'already used for a different request' }] })
        if (row.state !== 'done' || row.result === null) throw new ApiError('CONFLICT', `A request with Idempotency-Key "${key}" is still in progress: try again in a moment for its result`, { issues: [{ path: 'Idempotency-Key', message: 'a request with this key is in progress' }] })
        return { kind: 'replay', stored: JSON.parse(row.result) as Stored }
      }
      try {
        await this.db.idempotencyKey.create({ data: { session, key, request } })
        return { kind: 'first' }
      } catch (error) {
        // Another call took the key between the read and the write: read it again.
        if ((error as { code?: string }).code !== 'P2002') throw error
      }
    }
    throw new ApiError('CONFLICT', `A request with Idempotency-Key "${key}" is still in progress: try again in a moment for its result`)
  }

  /** Records the first call's answer for the retries. */
  async succeeded(session: string, key: string, data: unknown): Promise<void> {
    await this.finish(session, key, { data })
  }

  /** Records the first call's failure, or frees the key when nothing can have been sent. */
  async failed(session: string, key: string, error: unknown): Promise<void> {
    const { body } = describeError(error)
    const code = isErrorCode(body.code) ? body.code : 'INTERNAL_ERROR'
    if (NOTHING_SENT.has(code)) {
      await this.db.idempotencyKey.deleteMany({ where: { session, key, state: 'pending' } })
      return
    }
    await this.finish(session, key, { error: { code, message: body.error, ...(body.issues && { issues: body.issues }) } })
  }

  private async finish(session: string, key: string, stored: Stored): Promise<void> {
    await this.db.idempotencyKey.updateMany({ where: { session, key }, data: { state: 'done', result: JSON.stringify(stored) } })
  }

  /** Deletes this session's expired keys, a bounded batch at a time, at most once a minute. */
  private async pruneSometimes(session: string): Promise<void> {
    const now = Date.now()
    if (now - (this.prunedAt.get(session) ?? 0) < PRUNE_EVERY_MS) return
    this.prunedAt.set(session, now)
    try {
      await this.prune(session, new Date(now - KEY_TTL_MS))
    } catch {
      // Pruning is housekeeping: the next claim tries again a minute later.
      this.prunedAt.delete(session)
    }
  }

  /** Deletes the session's keys made before `before`, PRUNE_BATCH per statement; how many went. */
  async prune(session: string, before: Date): Promise<number> {
    let total = 0
    for (;;) {
      const rows = await this.db.idempotencyKey.findMany({ where: { session, createdAt: { lt: before } }, select: { key: true }, take: PRUNE_BATCH })
      if (rows.length === 0) return total
      const { count } = await this.db.idempotencyKey.deleteMany({ where: { session, key: { in: rows.map((row) => row.key) } } })
      total += count
      if (rows.length < PRUNE_BATCH) return total
      // Between batches, let the requests waiting for the event loop run.
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
}

/** The stored answer as the call's own: its data, or its error raised again. */
export function replay(stored: Stored): unknown {
  if ('data' in stored) return stored.data
  const { code, message, issues } = stored.error
  throw new ApiError(isErrorCode(code) ? code : 'INTERNAL_ERROR', message, issues ? { issues } : {})
}
