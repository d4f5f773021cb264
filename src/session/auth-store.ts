// One session's Baileys auth state in the database: the creds document and every signal key as one AuthKey row
// (type + id -> BufferJSON text). Baileys hands all writes of one encrypt/decrypt to a single
// `set()` call; it is applied in one transaction, so a crash never leaves half of it behind.
//
// A write the database refuses (a full disk, a read-only file, a server down) is not dropped: Baileys
// has already moved its Signal state on (and its cache in front of this store holds the new keys for
// a few minutes), so losing the write would bring back an older ratchet once the cache expires or the
// process restarts, and that contact's messages would stop decrypting. Such writes are kept here,
// newest value per key, answered to reads, and written again, in order and in one transaction, until
// the database takes them. If the session closes here first (on PostgreSQL its lease cannot be
// renewed while the database is down, see ownership.ts), they are handed to the session's
// UnwrittenKeys: the next AuthStore of this process writes them first, unless another process
// owned the session meanwhile (its own writes are newer then).
import { BufferJSON, initAuthCreds, proto, type AuthenticationCreds, type SignalDataSet, type SignalDataTypeMap, type SignalKeyStore } from '@whiskeysockets/baileys'
import { rawSqlOf, sqlFragment as sql, sqlList as join, type Db, type Sql } from '../store/database.js'
import type { Logger } from '../logger.js'
import { countOf, type Pending, type UnwrittenKeys } from './unwritten-keys.js'

const CREDS = { type: 'creds', id: 'me' } as const
/** How soon writes the database refused are tried again. */
const RETRY_MS = 1_000

const serialise = (value: unknown) => JSON.stringify(value, BufferJSON.replacer)
const deserialise = (text: string): unknown => JSON.parse(text, BufferJSON.reviver)

export interface StoredAuthState {
  creds: AuthenticationCreds
  /** The raw key store (put Baileys' cacheable store in front of it). */
  keys: SignalKeyStore
  /** Whether the creds came from the store (a paired or half-paired device) rather than fresh. */
  restored: boolean
  saveCreds(): Promise<void>
}

export class AuthStore {
  /**
   * Keys known to be absent, by type. Baileys' cache in front of this store keeps only keys it
   * found, so a key that does not exist (a contact's device list, on every message from them) was
   * looked up in the database each time. Only this process writes the keys (the connection lease
   * lets one process at a time run the session), so set() and clear() keep this exact.
   */
  private readonly absent = new Map<string, Set<string>>()
  /** Writes started, and writes not finished: a read that overlapped one does not record what it missed. */
  private writes = 0
  private writing = 0
  /** Writes in progress, so close() can wait for them. */
  private readonly inFlight = new Set<Promise<unknown>>()
  /** Set by close(): the session moved to another process, which alone writes its auth state now. */
  private closed = false
  /** Writes the database has not taken yet (see the top of this file). */
  private pending: Pending
  /**
   * The batch being written now: answered to reads until it is committed (on PostgreSQL a read runs
   * on another connection and does not see it before; on SQLite it may run before the write does).
   */
  private writingBatch: Pending | undefined
  /** Writes to the database run one at a time, in order. */
  private flushing: Promise<void> = Promise.resolve()
  private retryTimer: NodeJS.Timeout | undefined
  private failing = false

  /**
   * @param unwritten the session's keys a closed AuthStore of this process could not write: this
   *   one writes them first (the caller discards them if another process owned the session since).
   */
  constructor(
    private readonly db: Db,
    private readonly session: string,
    private readonly logger?: Logger,
    private readonly unwritten?: UnwrittenKeys,
  ) {
    this.pending = unwritten?.take() ?? new Map()
  }

  /** How many keys (and creds) wait to be written because the database refused them. */
  get pendingWrites(): number {
    return countOf(this.pending)
  }

  private get credsKey() {
    return { session_type_id: { session: this.session, ...CREDS } }
  }

  /** Loads the creds (or makes new ones) and returns a key store over the AuthKey table. */
  async load(): Promise<StoredAuthState> {
    // Creds a closed AuthStore could not write are newer than the database's.
    const carried = this.pending.get(CREDS.type)?.get(CREDS.id) as AuthenticationCreds | undefined
    const row = carried ? null : await this.db.authKey.findUnique({ where: this.credsKey })
    const creds = carried ?? (row ? (deserialise(row.value) as AuthenticationCreds) : initAuthCreds())
    if (this.pendingWrites > 0) {
      this.logger?.info({ session: this.session, keyCount: this.pendingWrites }, 'writing the auth keys the database refused before the session last closed here')
      await this.flush()
    }
    return {
      creds,
      restored: carried !== undefined || row !== null,
      keys: this.keyStore(),
      saveCreds: () => this.saveCreds(creds),
    }
  }

  async saveCreds(creds: AuthenticationCreds): Promise<void> {
    if (this.closed) return
    // A snapshot: Baileys keeps changing the creds object after asking for it to be saved.
    await this.track(this.write({ [CREDS.type]: { [CREDS.id]: deserialise(serialise(creds)) } }))
  }

  /**
   * No more writes from this process: waits for those in progress, and drops any that a closed
   * socket's leftover work (Baileys keeps decrypting, uploading pre-keys, ... for a moment after its
   * socket ends) tries later. The next owner of the session loads the auth state after this, and
   * a late write from here would overwrite what it has written since: pre-keys, ratchets.
   */
  async close(): Promise<void> {
    this.closed = true
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
    clearTimeout(this.retryTimer)
    if (this.pendingWrites > 0) {
      // A last try; what still fails is kept for this process's next AuthStore of the session.
      await this.flush()
      clearTimeout(this.retryTimer)
      if (this.pendingWrites > 0) {
        this.logger?.warn(
          { session: this.session, keyCount: this.pendingWrites },
          'auth keys the database refused could not be written before the session closed: kept in memory, and written once this process owns the session again (another process owning it first would not have them)',
        )
        this.unwritten?.keep(this.pending)
        this.pending = new Map()
      }
    }
  }

  private track<T>(write: Promise<T>): Promise<T> {
    this.inFlight.add(write)
    return write.finally(() => this.inFlight.delete(write))
  }

  /** Whether a paired device is stored (creds that completed pairing). */
  async isPaired(): Promise<boolean> {
    const row = await this.db.authKey.findUnique({ where: this.credsKey })
    return row !== null && Boolean((deserialise(row.value) as AuthenticationCreds).me?.id)
  }

  /** Forgets the device: creds and every key (after a logout or the phone unlinking us). */
  async clear(): Promise<void> {
    this.writes++
    this.writing++
    try {
      // What was waiting to be written belongs to the device being forgotten.
      await this.flushing
      this.pending = new Map()
      await this.db.authKey.deleteMany({ where: { session: this.session } })
    } finally {
      this.writing--
      this.absent.clear()
    }
  }

  async count(): Promise<number> {
    return this.db.authKey.count({ where: { session: this.session } })
  }

  /**
   * Baileys reads and writes keys for every message it sends or receives, so these are plain SQL:
   * one statement per read, one multi-row upsert per write, where the query builder made a
   * statement per key at about twice the CPU each (bench/RESULTS.md). The SQL is accepted by both
   * SQLite and PostgreSQL.
   */
  private keyStore(): SignalKeyStore {
    return {
      get: (type, ids) => this.readKeys(type, ids),
      set: async (data) => {
        if (this.closed) return
        this.writes++
        this.writing++
        try {
          await this.track(this.write(data as Record<string, Record<string, unknown> | undefined>))
        } finally {
          this.writing--
        }
      },
    }
  }

  private async readKeys<T extends keyof SignalDataTypeMap>(type: T, ids: string[]): Promise<{ [id: string]: SignalDataTypeMap[T] }> {
    const found: { [id: string]: SignalDataTypeMap[T] } = {}
    const known = this.absent.get(type)
    // Writes the database has not taken yet, or not committed yet, are the truth for their keys.
    const waiting = this.pending.get(type)
    const beingWritten = this.writingBatch?.get(type)
    const inMemory = (id: string) => waiting?.has(id) || beingWritten?.has(id)
    for (const id of ids) {
      const value = waiting?.has(id) ? waiting.get(id) : beingWritten?.get(id)
      if (value !== undefined && value !== null) found[id] = value as SignalDataTypeMap[T]
    }
    const wanted = ids.filter((id) => !known?.has(id) && !inMemory(id))
    const writesBefore = this.writing === 0 ? this.writes : -1
    for (const chunk of chunks(wanted)) {
      const rows = await rawSqlOf(this.db).query<{ id: string; value: string }>(sql`SELECT "id", "value" FROM "AuthKey" WHERE "session" = ${this.session} AND "type" = ${type} AND "id" IN (${join(chunk)})`)
      for (const row of rows) {
        let value = deserialise(row.value)
        // Baileys expects app-state sync keys as protos, the way its own file store revives them.
        if (type === 'app-state-sync-key' && value) value = proto.Message.AppStateSyncKeyData.fromObject(value as object)
        found[row.id] = value as SignalDataTypeMap[T]
      }
    }
    if (this.writes === writesBefore && this.writing === 0) rememberAbsent(this.absent, type, wanted.filter((id) => !(id in found)))
    return found
  }

  /**
   * Queues `data` behind the writes not yet taken and writes them all. Resolves once written, or
   * once kept for a retry because the database refused it (the keys are then answered from memory).
   */
  private write(data: Record<string, Record<string, unknown> | undefined>): Promise<void> {
    for (const [type, entries] of Object.entries(data)) {
      let waiting = this.pending.get(type)
      if (!waiting) this.pending.set(type, (waiting = new Map()))
      for (const [id, value] of Object.entries(entries ?? {})) {
        waiting.set(id, value ?? null)
        this.absent.get(type)?.delete(id)
      }
    }
    return this.flush()
  }

  /** Writes everything pending in one transaction; on failure keeps it and tries again later. */
  private flush(): Promise<void> {
    const run = this.flushing.then(async () => {
      if (this.pendingWrites === 0) return
      const batch = this.pending
      this.pending = new Map()
      // Also a retry, which no set() counts: a read overlapping it does not record what it missed.
      this.writingBatch = batch
      this.writes++
      this.writing++
      try {
        await this.writeKeys(batch)
        if (this.failing) this.logger?.warn({ session: this.session }, 'auth keys the database had refused are written now')
        this.failing = false
      } catch (error) {
        // Newer values written meanwhile win over this batch's.
        for (const [type, entries] of batch) {
          let waiting = this.pending.get(type)
          if (!waiting) this.pending.set(type, (waiting = new Map()))
          for (const [id, value] of entries) if (!waiting.has(id)) waiting.set(id, value)
        }
        if (!this.failing) this.logger?.error({ err: error, session: this.session, keyCount: this.pendingWrites }, 'the database refused auth keys: kept in memory and written again when it can')
        this.failing = true
        this.scheduleRetry()
      } finally {
        // Committed, or back in `pending` (the catch above): never in neither.
        this.writingBatch = undefined
        this.writing--
      }
    })
    this.flushing = run
    return run
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      void this.flush()
    }, RETRY_MS)
    this.retryTimer.unref?.()
  }

  private async writeKeys(data: Pending): Promise<void> {
    const updatedAt = new Date()
    const upserts: Sql[] = []
    const statements: Sql[] = []
    for (const [type, entries] of data) {
      const deletes: string[] = []
      for (const [id, value] of entries) {
        if (value === null || value === undefined) deletes.push(id)
        else upserts.push(sql`(${this.session}, ${type}, ${id}, ${serialise(value)}, ${updatedAt})`)
      }
      for (const chunk of chunks(deletes)) statements.push(sql`DELETE FROM "AuthKey" WHERE "session" = ${this.session} AND "type" = ${type} AND "id" IN (${join(chunk)})`)
    }
    for (const chunk of chunks(upserts)) {
      statements.push(sql`
        INSERT INTO "AuthKey" ("session", "type", "id", "value", "updatedAt") VALUES ${join(chunk)}
        ON CONFLICT ("session", "type", "id") DO UPDATE SET "value" = excluded."value", "updatedAt" = excluded."updatedAt"`)
    }
    // All or none, also across a crash. Plain SQL on the client's connection (src/store/raw-sql.ts):
    // this runs for nearly every message.
    await rawSqlOf(this.db).executeAll(statements)
  }
}

/** Bounded: past 10,000 absent keys of one type, it starts over (they are looked up again). */
function rememberAbsent(absent: Map<string, Set<string>>, type: string, ids: string[]): void {
  if (ids.length === 0) return
  let set = absent.get(type)
  if (!set || set.size + ids.length > 10_000) absent.set(type, (set = new Set()))
  for (const id of ids) set.add(id)
}

/** Keeps each statement well under both databases' limits on bound parameters (5 per written key). */
function chunks<T>(items: T[], size = 1000): T[][] {
  const result: T[][] = []
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size))
  return result
}
