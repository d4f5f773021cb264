// The databases a store test runs on: a temp SQLite file always, and PostgreSQL when it can be had.
import path from 'node:path'
import { openClient, type Db } from '../../src/store/database.js'
import { migrate } from '../../src/store/migrate.js'
import { startTestPostgres, type TestPostgres } from './postgres.js'
import { tempDir } from './service.js'

export interface TestDatabase {
  provider: 'sqlite' | 'postgresql'
  /** Returns the URL of a fresh, empty database. */
  fresh(): Promise<string>
}

let postgres: Promise<TestPostgres | { skipped: string }> | undefined

/** Both providers; PostgreSQL's entry carries a skip reason when the server is unavailable. */
export async function testDatabases(): Promise<Array<TestDatabase & { skip?: string }>> {
  postgres ??= startTestPostgres()
  const pg = await postgres
  return [
    { provider: 'sqlite', fresh: async () => `file:${path.join(tempDir(), 'wsgo.db')}` },
    'skipped' in pg
      ? { provider: 'postgresql', fresh: async () => '', skip: `PostgreSQL tests skipped: ${pg.skipped}` }
      : { provider: 'postgresql', fresh: () => pg.createDatabase() },
  ]
}

/** A fresh database of this provider, migrated and opened for `work`, and disconnected after it. */
export async function withFreshClient<T>(database: TestDatabase, work: (db: Db) => Promise<T>): Promise<T> {
  const url = await database.fresh()
  await migrate(url)
  const db = await openClient(url)
  try {
    return await work(db)
  } finally {
    await db.$disconnect()
  }
}

/** Stops the PostgreSQL server this file started (a no-op when TEST_DATABASE_URL was given). */
export async function stopTestDatabases(): Promise<void> {
  const pg = await postgres
  if (pg && !('skipped' in pg)) await pg.stop()
}
