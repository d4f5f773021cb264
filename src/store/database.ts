// Opens the store for DATABASE_URL. SQLite (a file) is the zero-set-up default; a postgres:// URL
// selects PostgreSQL. Each provider has its own generated client (prisma/<provider>/schema.prisma,
// rendered from the same models), so nothing outside src/store knows which one is in use.
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3'
import { PrismaPg } from '@prisma/adapter-pg'
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils'
import { PrismaClient as SqliteClient } from './generated/sqlite/client.js'
import { PrismaClient as PostgresClient } from './generated/postgresql/client.js'

export type Provider = 'sqlite' | 'postgresql'

/**
 * The client type the rest of the service codes against. Both generated clients come from one
 * model file (a test keeps them identical), so the PostgreSQL client is used through this type too.
 */
export type Db = SqliteClient
export type { Prisma } from './generated/sqlite/client.js'

export function providerOf(url: string): Provider {
  return /^postgres(ql)?:\/\//i.test(url) ? 'postgresql' : 'sqlite'
}

/** The adapter factory for a URL: the client and the migration engine share it. */
export function adapterFor(url: string): SqlMigrationAwareDriverAdapterFactory {
  if (providerOf(url) === 'postgresql') return new PrismaPg({ connectionString: url, max: 10 })
  const file = url.replace(/^file:/, '')
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true })
  // A writer waits up to 5 s for a lock instead of failing at once (tests run two processes on one file).
  return new PrismaBetterSqlite3({ url: file, timeout: 5000 })
}

export async function openClient(url: string): Promise<Db> {
  const adapter = adapterFor(url)
  if (providerOf(url) === 'postgresql') return new PostgresClient({ adapter }) as unknown as Db
  const db = new SqliteClient({ adapter })
  // WAL lets readers (API calls) run while Baileys writes keys; NORMAL sync is safe under WAL
  // (a power cut may lose the last commits, never corrupt the file) and much faster than FULL.
  await db.$queryRawUnsafe('PRAGMA journal_mode = WAL')
  await db.$executeRawUnsafe('PRAGMA synchronous = NORMAL')
  return db
}
