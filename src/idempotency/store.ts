// The Idempotency-Key of the sends: a send made again with the same key within 24 h answers what
// the first one answered and sends nothing, also after a restart (the rows live in the database).
// One row per session and key: `pending` while a call runs it, then `done` with its answer.
//
// The message id is chosen when the key is taken and stored with it (pinned-id.ts), before anything
// is sent. So a key left `pending` by a call that cannot finish it (its process was killed mid-send,
// or the answer could not be stored) is not locked for 24 h: the next call with the same request
// takes it over and sends again under that id, which the recipient takes as the same message. A key
// is left behind when the process that took it no longer runs the session (sends run only in the
// session's owner, and a process hands a session over only after closing its socket, which fails its
// sends in flight), or when it is this process and no call of it is running the key any more.
//
// A duplicate that arrives while the first is still running is refused (409, "in progress") rather
// than made to wait: it cannot hold a request open for up to SEND_TIMEOUT_MS, and the caller's next
// retry gets the stored answer. Errors raised before anything went to WhatsApp (bad input, not
// connected) release the key so a retry can succeed; a retry of the same request keeps the id (a
// send cut off by a closing socket may have gone out after all). Any other error is stored and
// replayed, since the message may have gone out.
import { setImmediate as nextTurn } from 'node:timers/promises'
import { randomUUID } from 'node:crypto'
import { ApiError, describeError, isErrorCode, type ErrorCode, type Issue } from '../errors.js'
import type { Db } from '../store/database.js'
import { newMessageId } from './pinned-id.js'

/** How long a key is remembered. */
export const KEY_TTL_MS = 24 * 60 * 60_000
/** Expired rows deleted at most per statement, and how often a session's are looked for. */
const PRUNE_BATCH = 500
const PRUNE_EVERY_MS = 60_000

/** An idempotency key: what a caller may send (Stripe's limit is 255 as well). */
export const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/

/**
 * Errors after which the message was not sent, or (NOT_CONNECTED of a socket that closed mid-send)
 * may have been: the key is released for a retry, which keeps the id when it is the same request.
 */
const NOTHING_SENT: ReadonlySet<ErrorCode> = new Set(['VALIDATION_ERROR', 'INVALID_JSON', 'UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'MEDIA_FETCH_FAILED', 'NOT_CONNECTED', 'SESSION_MOVING', 'STORE_UNAVAILABLE', 'CONFLICT'])

type Stored = { data: unknown } | { error: { code: ErrorCode; message: string; issues?: Issue[] } }

export type Claim = { kind: 'first'; messageId: string } | { kind: 'replay'; stored: Stored }

type Row = { request: string; state: string; owner: string | null; messageId: string | null; createdAt: Date }

const inProgress = (key: string) =>
  new ApiError('CONFLICT', `A request with Idempotency-Key "${key}" is still in progress: try again in a moment for its result`, { issues: [{ path: 'Idempotency-Key', message: 'a request with this key is in progress' }] })

export class IdempotencyStore {
  /** This process, in the rows it takes: the composition root makes one store per process. */
  readonly instance = randomUUID()
  /** The keys a call of this process is running now (session, newline, key). */
  private readonly running = new Set<string>()
  private readonly prunedAt = new Map<string, number>()
  constructor(private readonly db: Db) {}

  /**
   * Takes `key` for this request, or answers what it already holds: the first call's answer, or a
   * 409 when it is still in flight or was made for another request. Taken, it gives the id of the
   * message to send (the one chosen first, when the key is taken over); the caller must settle()
   * it once its answer is recorded.
   */
  async claim(session: string, key: string, request: string): Promise<Claim> {
    void this.pruneSometimes(session)
    const since = new Date(Date.now() - KEY_TTL_MS)
    const running = `${session}\n${key}`
    for (let attempt = 0; attempt < 3; attempt++) {
      const row = await this.db.idempotencyKey.findUnique({ where: { session_key: { session, key } } })
      if (row && row.createdAt < since) {
        // Expired but not pruned yet: as if it were not there.
        await this.db.idempotencyKey.deleteMany({ where: { session, key, createdAt: row.createdAt } })
        continue
      }
      if (row && row.state !== 'released') {
        if (row.request !== request) throw new ApiError('CONFLICT', `Idempotency-Key "${key}" was used for a different request in the last 24 hours: use a new key for a new request`, { issues: [{ path: 'Idempotency-Key', message: 'already used for a different request' }] })
        if (row.state === 'done' && row.result !== null) return { kind: 'replay', stored: JSON.parse(row.result) as Stored }
      }
      // From here on the key is free, released, or pending: pending in a call of this process is
      // in progress; any other pending was left behind (see the top of this file).
      if (this.running.has(running)) throw inProgress(key)
      // Taken synchronously: a second call of this process for the key is refused above meanwhile.
      this.running.add(running)
      try {
        const messageId = row ? await this.takeOver(session, key, request, row) : await this.create(session, key, request)
        if (messageId !== undefined) return { kind: 'first', messageId }
      } catch (error) {
        this.running.delete(running)
        throw error
      }
      // Another process took it between the read and the write: read it again.
      this.running.delete(running)
    }
    throw inProgress(key)
  }

  /** The call that took `key` is over (its answer recorded, or not): it is no longer in progress here. */
  settle(session: string, key: string): void {
    this.running.delete(`${session}\n${key}`)
  }

  /** A new row for the key, with a new message id; undefined when another call made one first. */
  private async create(session: string, key: string, request: string): Promise<string | undefined> {
    const messageId = newMessageId()
    try {
      await this.db.idempotencyKey.create({ data: { session, key, request, messageId, owner: this.instance } })
      return messageId
    } catch (error) {
      if ((error as { code?: string }).code !== 'P2002') throw error
      return undefined
    }
  }

  /**
   * Takes over a row left pending or released: the same request keeps its message id (whatever went
   * out under it is the same message), another request (a released key reused) gets a new one and
   * a new 24 h. Undefined when another call changed the row first.
   */
  private async takeOver(session: string, key: string, request: string, row: Row): Promise<string | undefined> {
    const same = row.request === request
    // Rows written before ids were kept have none: the best left is a new one.
    const messageId = (same && row.messageId) || newMessageId()
    const { count } = await this.db.idempotencyKey.updateMany({
      where: { session, key, request: row.request, state: row.state, owner: row.owner, createdAt: row.createdAt },
      data: { state: 'pending', request, messageId, owner: this.instance, ...(!same && { createdAt: new Date() }) },
    })
    return count === 1 ? messageId : undefined
  }

  /** Records the first call's answer for the retries. */
  async succeeded(session: string, key: string, data: unknown): Promise<void> {
    await this.finish(session, key, { data })
  }

  /** Records the first call's failure, or releases the key when nothing can have been sent. */
  async failed(session: string, key: string, error: unknown): Promise<void> {
    const { body } = describeError(error)
    const code = isErrorCode(body.code) ? body.code : 'INTERNAL_ERROR'
    if (NOTHING_SENT.has(code)) {
      await this.db.idempotencyKey.updateMany({ where: { session, key, state: 'pending', owner: this.instance }, data: { state: 'released' } })
      return
    }
    await this.finish(session, key, { error: { code, message: body.error, ...(body.issues && { issues: body.issues }) } })
  }

  /** Only while the row is still this process's: a call that took it over records its own answer. */
  private async finish(session: string, key: string, stored: Stored): Promise<void> {
    await this.db.idempotencyKey.updateMany({ where: { session, key, state: 'pending', owner: this.instance }, data: { state: 'done', result: JSON.stringify(stored) } })
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
      await nextTurn()
    }
  }
}

/** The stored answer as the call's own: its data, or its error raised again. */
export function replay(stored: Stored): unknown {
  if ('data' in stored) return stored.data
  const { code, message, issues } = stored.error
  throw new ApiError(isErrorCode(code) ? code : 'INTERNAL_ERROR', message, issues ? { issues } : {})
}
