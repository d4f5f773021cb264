// Applies the committed migrations (prisma/<provider>/migrations) at start-up and from
// `npm run db:migrate`, through the WebAssembly schema engine (see schema-engine.ts).
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { adapterFor, providerOf, type Provider } from './database.js'
import { openSchemaEngine } from './schema-engine.js'

export const prismaDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../prisma')

export class MigrationError extends Error {
  override name = 'MigrationError'
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

/** Brings the database up to date; returns the names of the migrations it applied. */
export async function migrate(url: string): Promise<string[]> {
  const provider = providerOf(url)
  const schemaPath = path.join(prismaDir, provider, 'schema.prisma')
  const schema = { path: schemaPath, text: await readFile(schemaPath, 'utf8') }
  const list = await migrationsList(provider)
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
