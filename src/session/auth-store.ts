// One session's Baileys auth state in the database: the creds document and every signal key as one AuthKey row
// (type + id -> BufferJSON text). Baileys hands all writes of one encrypt/decrypt to a single
// `set()` call; it is applied in one transaction, so a crash never leaves half of it behind.
import { BufferJSON, initAuthCreds, proto, type AuthenticationCreds, type SignalDataSet, type SignalDataTypeMap, type SignalKeyStore } from '@whiskeysockets/baileys'
import { join, sqltag as sql, type Sql } from '@prisma/client/runtime/client'
import type { Db } from '../store/database.js'

const CREDS = { type: 'creds', id: 'me' } as const

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

  constructor(
    private readonly db: Db,
    private readonly session: string,
  ) {}

  private get credsKey() {
    return { session_type_id: { session: this.session, ...CREDS } }
  }

  /** Loads the creds (or makes new ones) and returns a key store over the AuthKey table. */
  async load(): Promise<StoredAuthState> {
    const row = await this.db.authKey.findUnique({ where: this.credsKey })
    const creds = row ? (deserialise(row.value) as AuthenticationCreds) : initAuthCreds()
    return {
      creds,
      restored: row !== null,
      keys: this.keyStore(),
      saveCreds: () => this.saveCreds(creds),
    }
  }

  async saveCreds(creds: AuthenticationCreds): Promise<void> {
    if (this.closed) return
    const value = serialise(creds)
    await this.track(this.db.authKey.upsert({ where: this.credsKey, create: { session: this.session, ...CREDS, value }, update: { value } }))
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
          await this.track(this.writeKeys(data))
        } finally {
          this.writing--
        }
      },
    }
  }

  private async readKeys<T extends keyof SignalDataTypeMap>(type: T, ids: string[]): Promise<{ [id: string]: SignalDataTypeMap[T] }> {
    const found: { [id: string]: SignalDataTypeMap[T] } = {}
    const known = this.absent.get(type)
    const wanted = known ? ids.filter((id) => !known.has(id)) : ids
    const writesBefore = this.writing === 0 ? this.writes : -1
    for (const chunk of chunks(wanted)) {
      const rows = await this.db.$queryRaw<Array<{ id: string; value: string }>>`SELECT "id", "value" FROM "AuthKey" WHERE "session" = ${this.session} AND "type" = ${type} AND "id" IN (${join(chunk)})`
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

  private async writeKeys(data: SignalDataSet): Promise<void> {
    const updatedAt = new Date()
    const upserts: Sql[] = []
    const statements = []
    for (const [type, entries] of Object.entries(data)) {
      const deletes: string[] = []
      for (const [id, value] of Object.entries(entries ?? {})) {
        if (value === null || value === undefined) deletes.push(id)
        else upserts.push(sql`(${this.session}, ${type}, ${id}, ${serialise(value)}, ${updatedAt})`)
        this.absent.get(type)?.delete(id)
      }
      for (const chunk of chunks(deletes)) statements.push(this.db.$executeRaw`DELETE FROM "AuthKey" WHERE "session" = ${this.session} AND "type" = ${type} AND "id" IN (${join(chunk)})`)
    }
    for (const chunk of chunks(upserts)) {
      statements.push(this.db.$executeRaw`
        INSERT INTO "AuthKey" ("session", "type", "id", "value", "updatedAt") VALUES ${join(chunk)}
        ON CONFLICT ("session", "type", "id") DO UPDATE SET "value" = excluded."value", "updatedAt" = excluded."updatedAt"`)
    }
    // One statement is atomic on its own; several go in one transaction (a crash keeps all or none).
    if (statements.length === 1) await statements[0]
    else if (statements.length > 1) await this.db.$transaction(statements)
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
