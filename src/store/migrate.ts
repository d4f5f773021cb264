// Applies the committed migrations (prisma/<provider>/migrations) at start-up and from
// `npm run db:migrate`, through the WebAssembly schema engine (see schema-engine.ts).
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { packageRoot } from '../package-root.js'
import { adapterFor, providerOf, type Provider } from './database.js'
import { openSchemaEngine } from './schema-engine.js'
import { storeFaultOf, type StoreFault } from './store-faults.js'

export const prismaDir = path.join(packageRoot, 'prisma')

export class MigrationError extends Error {
  override name = 'MigrationError'
}

/**
 * The database could not even be read to see which migrations it has, for a reason that may end on
 * its own: a SQLite file or directory that cannot be opened or written. service.ts starts degraded
 * and migrates once the store works; anything else (not a database, a schema that fails) is fatal.
 */
export class StoreNotReady extends Error {
  override name = 'StoreNotReady'
  constructor(readonly fault: StoreFault) {
    super(fault.message)
  }
}

/** SQLite faults that a person fixes outside the service (permissions, a mount, disk space). */
function waitableFault(provider: string, error: unknown): StoreFault | undefined {
  const fault = storeFaultOf(error)
  if (!fault || provider !== 'sqlite') return undefined
  if (fault.kind === 'read-only' || fault.kind === 'full' || /unable to open database file/.test(fault.message)) return fault
  return undefined
}

async function migrationsList(provider: Provider) {
  const baseDir = path.join(prismaDir, provider, 'migrations')
  const names = (await readdir(baseDir, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
  const lockfilePath = path.join(baseDir, 'migration_lock.toml')
  return {
    baseDir,
    shadowDbInitScript: '',
    lockfile: { path: 'migration_lock.toml', content: await readFile(lockfilePath, 'utf8').catch(() => null) },
    migrationDirectories: await Promise.all(
      names.map(async (name) => ({
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: { tag: 'ok' as const, value: await readFile(path.join(baseDir, name, 'migration.sql'), 'utf8') },
        },
      })),
    ),
  }
}

/**
 * Names of migrations recorded as applied. Read with a plain connection: the schema engine locks
 * a SQLite file exclusively (`locking_mode=EXCLUSIVE`), which fails while another process has it
 * open, so it is only started when there is something to apply.
 */
async function appliedMigrations(url: string): Promise<Set<string> | undefined> {
  const connection = await adapterFor(url).connect()
  try {
    const result = await connection.queryRaw({
      sql: 'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
      args: [],
      argTypes: [],
    })
    return new Set(result.rows.map((row) => String(row[0])))
  } catch (error) {
    const fault = waitableFault(connection.provider, error)
    if (fault) throw new StoreNotReady(fault)
    return undefined // no migrations table yet (a new database); other failures are the engine's to tell
  } finally {
    await connection.dispose()
  }
}

export interface MigrateOptions {
  /**
   * Apply the committed migrations only up to and including this one (a directory name, e.g.
   * '20261125142259_init'): a database as that release left it, for upgrade tests. Default: all.
   */
  upTo?: string
}

/** Brings the database up to date (or up to `upTo`); returns the names of the migrations it applied. */
export async function migrate(url: string, options: MigrateOptions = {}): Promise<string[]> {
  const provider = providerOf(url)
  const list = await migrationsList(provider)
  if (options.upTo !== undefined) {
    const last = list.migrationDirectories.findIndex((migration) => migration.path === options.upTo)
    if (last < 0) throw new MigrationError(`No migration named ${options.upTo} in prisma/${provider}/migrations`)
    list.migrationDirectories = list.migrationDirectories.slice(0, last + 1)
  }
  const applied = await appliedMigrations(url)
  if (applied && list.migrationDirectories.every((migration) => applied.has(migration.path))) return []
  const schemaPath = path.join(prismaDir, provider, 'schema.prisma')
  const schema = { path: schemaPath, text: await readFile(schemaPath, 'utf8') }
  const { engine, close } = await openSchemaEngine(schema, adapterFor(url))
  try {
    const { appliedMigrationNames } = await engine.applyMigrations({
      migrationsList: list,
      filters: { externalTables: [], externalEnums: [] },
    })
    return appliedMigrationNames
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw new MigrationError(`Database migration failed on ${provider} (${list.migrationDirectories.length} migrations known): ${message}`)
  } finally {
    await close()
  }
}
