// Opens the store for DATABASE_URL. SQLite (a file) is the zero-set-up default; a postgres:// URL
// selects PostgreSQL. Each provider has its own generated client (prisma/<provider>/schema.prisma,
// rendered from the same models), so nothing outside src/store knows which one is in use.
import { rename, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3'
import { PrismaPg } from '@prisma/adapter-pg'
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils'
import { PrismaClient as SqliteClient } from './generated/sqlite/client.js'
import { PrismaClient as PostgresClient } from './generated/postgresql/client.js'
import { ensureDatabaseDirectory } from './database-directory.js'
import { ObservedAdapterFactory } from './observed-connection.js'
import { RawSql } from './raw-sql.js'
import { faultMessage, storeFaultOf, type StoreFault } from './store-faults.js'
import { StoreHealth } from './store-health.js'

export type Provider = 'sqlite' | 'postgresql'

/**
 * The client type the rest of the service codes against. Both generated clients come from one
 * model file (a test keeps them identical), so the PostgreSQL client is used through this type too.
 */
export type Db = SqliteClient
export type { Prisma } from './generated/sqlite/client.js'

/**
 * Building blocks of raw queries, from the runtime both generated clients share: `sqlList` joins
 * values (for `IN (...)`) or fragments (rows of a multi-row `VALUES`), `sqlFragment` is a tagged
 * template whose values become parameters.
 */
export { join as sqlList, sqltag as sqlFragment, type Sql } from '@prisma/client/runtime/client'
export type { RawSql, RawStatements } from './raw-sql.js'

export function providerOf(url: string): Provider {
  return /^postgres(ql)?:\/\//i.test(url) ? 'postgresql' : 'sqlite'
}

/** The adapter factory for a URL: the client and the migration engine share it. */
export function adapterFor(url: string): SqlMigrationAwareDriverAdapterFactory {
  if (providerOf(url) === 'postgresql') return new PrismaPg({ connectionString: url, max: 10 })
  const file = url.replace(/^file:/, '')
  if (file !== ':memory:') ensureDatabaseDirectory(file)
  // A writer waits up to 5 s for a lock instead of failing at once (tests run two processes on one file).
  return new PrismaBetterSqlite3({ url: file, timeout: 5000 })
}

/** Not a valid session name: the probe's row in Lease can never be a session's lease. */
const PROBE_LEASE = '_store-probe'
/** Larger than a page, so a probe on a full disk needs new space and fails like real writes do. */
const PROBE_PAYLOAD = 'p'.repeat(32 * 1024)

const healthOf = new WeakMap<object, StoreHealth>()
const rawOf = new WeakMap<object, RawSql>()

/** Plain SQL on the client's own connection, for the statements every message runs (raw-sql.ts). */
export function rawSqlOf(db: Db): RawSql {
  const raw = rawOf.get(db)
  if (!raw) throw new Error('rawSqlOf: this client was not opened by openClient()')
  return raw
}

/** The health of a store opened by openClient() (store-health.ts). */
export function storeHealthOf(db: Db): StoreHealth {
  let health = healthOf.get(db)
  if (!health) healthOf.set(db, (health = new StoreHealth({ probe: async () => void (await db.lease.count()) })))
  return health
}

export async function openClient(url: string, options: { probeEveryMs?: number; checkEveryMs?: number } = {}): Promise<Db> {
  const provider = providerOf(url)
  let health: StoreHealth | undefined
  const factory = new ObservedAdapterFactory(adapterFor(url), { failed: (error) => health?.failed(error) })
  const db = provider === 'postgresql' ? (new PostgresClient({ adapter: factory }) as unknown as Db) : new SqliteClient({ adapter: factory })
  rawOf.set(db, new RawSql(() => factory.connection, () => db.$connect()))
  const probe = async () => {
    // A write that needs new space and a read back, then the row is made small again.
    await db.lease.upsert({ where: { name: PROBE_LEASE }, create: { name: PROBE_LEASE, owner: PROBE_PAYLOAD, expiresAt: new Date(0) }, update: { owner: PROBE_PAYLOAD } })
    await db.lease.update({ where: { name: PROBE_LEASE }, data: { owner: 'probe' } })
    await db.lease.findUniqueOrThrow({ where: { name: PROBE_LEASE } })
  }
  if (provider === 'postgresql') {
    health = new StoreHealth({ probe, probeEveryMs: options.probeEveryMs })
  } else {
    const file = path.resolve(url.replace(/^file:/, ''))
    // A file that cannot be opened yet (a read-only directory: no room for its WAL files) is a store
    // fault, not a failed start: service.ts starts degraded, and the repair configures the next connection.
    await configureSqlite(db).catch((error: unknown) => {
      if (!storeFaultOf(error)) throw error
    })
    const sqlite = new SqliteFile(file, factory)
    await sqlite.remember()
    health = new StoreHealth({
      probe,
      check: () => sqlite.check(),
      repair: (fault) => sqlite.repair(fault),
      probeEveryMs: options.probeEveryMs,
      checkEveryMs: options.checkEveryMs,
    })
  }
  healthOf.set(db, health)
  return db
}

async function configureSqlite(db: { $queryRawUnsafe(sql: string): Promise<unknown>; $executeRawUnsafe(sql: string): Promise<unknown> }): Promise<void> {
  // WAL lets readers (API calls) run while Baileys writes keys; NORMAL sync is safe under WAL
  // (a power cut may lose the last commits, never corrupt the file) and much faster than FULL.
  await db.$queryRawUnsafe('PRAGMA journal_mode = WAL')
  await db.$executeRawUnsafe('PRAGMA synchronous = NORMAL')
}

/**
 * The SQLite file as it was opened: the connection keeps using the file it opened even once it is
 * deleted (with its directory) or replaced, so its identity is checked, and a fault that a new
 * connection can end (a file made writable again, put back, replaced) is repaired by reopening it.
 */
class SqliteFile {
  private identity: { dev: number; ino: number } | undefined

  constructor(
    private readonly file: string,
    private readonly factory: ObservedAdapterFactory,
  ) {}

  async remember(): Promise<void> {
    const stats = await stat(this.file).catch(() => undefined)
    this.identity = stats && { dev: stats.dev, ino: stats.ino }
  }

  async check(): Promise<StoreFault | undefined> {
    if (!this.identity) return undefined
    const stats = await stat(this.file).catch(() => undefined)
    if (stats && stats.dev === this.identity.dev && stats.ino === this.identity.ino) return undefined
    return { kind: 'removed', message: faultMessage('removed', stats ? `${this.file} was replaced by another file` : `${this.file} no longer exists`) }
  }

  async repair(fault: StoreFault): Promise<void> {
    const connection = this.factory.connection
    if (!connection || fault.kind === 'full') return
    const reopen = async () => {
      const fresh = await this.factory.fresh()
      await fresh.executeScript('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL')
      return fresh
    }
    if (fault.kind === 'removed' && !(await stat(this.file).catch(() => undefined))) {
      // The file is gone, but the open connection still reads it: write it back where it was,
      // complete as of now (nothing else runs meanwhile), then continue on the restored file.
      await connection.alone(async (current) => {
        ensureDatabaseDirectory(this.file)
        const copy = `${this.file}.restoring`
        await rm(copy, { force: true })
        await current.executeRaw({ sql: 'VACUUM INTO ?', args: [copy], argTypes: [{ scalarType: 'string', arity: 'scalar' }] })
        await rename(copy, this.file)
      }, reopen)
    } else {
      // Read-only or I/O errors may end with a new connection; a file replaced by another is used as it is now.
      await connection.alone(async () => {}, reopen)
    }
    await this.remember()
  }
}
