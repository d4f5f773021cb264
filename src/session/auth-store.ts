// Baileys' auth state in the database: the creds document and every signal key as one AuthKey row
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
  constructor(private readonly db: Db) {}

  /** Loads the creds (or makes new ones) and returns a key store over the AuthKey table. */
  async load(): Promise<StoredAuthState> {
    const row = await this.db.authKey.findUnique({ where: { type_id: CREDS } })
    const creds = row ? (deserialise(row.value) as AuthenticationCreds) : initAuthCreds()
    return {
      creds,
      restored: row !== null,
      keys: this.keyStore(),
      saveCreds: () => this.saveCreds(creds),
    }
  }

  async saveCreds(creds: AuthenticationCreds): Promise<void> {
    const value = serialise(creds)
    await this.db.authKey.upsert({ where: { type_id: CREDS }, create: { ...CREDS, value }, update: { value } })
  }

  /** Whether a paired device is stored (creds that completed pairing). */
  async isPaired(): Promise<boolean> {
    const row = await this.db.authKey.findUnique({ where: { type_id: CREDS } })
    return row !== null && Boolean((deserialise(row.value) as AuthenticationCreds).me?.id)
  }

  /** Forgets the device: creds and every key (after a logout or the phone unlinking us). */
  async clear(): Promise<void> {
    await this.db.authKey.deleteMany({})
  }

  async count(): Promise<number> {
    return this.db.authKey.count()
  }

  /**
   * Baileys reads and writes keys for every message it sends or receives, so these are plain SQL:
   * one statement per read, one multi-row upsert per write, where the query builder made a
   * statement per key at about twice the CPU each (bench/RESULTS.md). The SQL is accepted by both
   * SQLite and PostgreSQL.
   */
  private keyStore(): SignalKeyStore {
    const db = this.db
    return {
      async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
        const found: { [id: string]: SignalDataTypeMap[T] } = {}
        for (const chunk of chunks(ids)) {
          const rows = await db.$queryRaw<Array<{ id: string; value: string }>>`SELECT "id", "value" FROM "AuthKey" WHERE "type" = ${type} AND "id" IN (${join(chunk)})`
          for (const row of rows) {
            let value = deserialise(row.value)
            // Baileys expects app-state sync keys as protos, the way its own file store revives them.
            if (type === 'app-state-sync-key' && value) value = proto.Message.AppStateSyncKeyData.fromObject(value as object)
            found[row.id] = value as SignalDataTypeMap[T]
          }
        }
        return found
      },
      async set(data: SignalDataSet) {
        const updatedAt = new Date()
        const writes: Sql[] = []
        const statements = []
        for (const [type, entries] of Object.entries(data)) {
          const deletes: string[] = []
          for (const [id, value] of Object.entries(entries ?? {})) {
            if (value === null || value === undefined) deletes.push(id)
            else writes.push(sql`(${type}, ${id}, ${serialise(value)}, ${updatedAt})`)
          }
          for (const chunk of chunks(deletes)) statements.push(db.$executeRaw`DELETE FROM "AuthKey" WHERE "type" = ${type} AND "id" IN (${join(chunk)})`)
        }
        for (const chunk of chunks(writes)) {
          statements.push(db.$executeRaw`
            INSERT INTO "AuthKey" ("type", "id", "value", "updatedAt") VALUES ${join(chunk)}
            ON CONFLICT ("type", "id") DO UPDATE SET "value" = excluded."value", "updatedAt" = excluded."updatedAt"`)
        }
        // One statement is atomic on its own; several go in one transaction (a crash keeps all or none).
        if (statements.length === 1) await statements[0]
        else if (statements.length > 1) await db.$transaction(statements)
      },
    }
  }
}

/** Keeps each statement well under both databases' limits on bound parameters (4 per written key). */
function chunks<T>(items: T[], size = 1000): T[][] {
  const result: T[][] = []
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size))
  return result
}
