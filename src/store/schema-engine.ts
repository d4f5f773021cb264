// Prisma's schema engine, compiled to WebAssembly and shipped on the npm registry
// (@prisma/schema-engine-wasm). The CLI's native engine is downloaded from outside the registry at
// first use, so migrations go through this instead: same engine, same `_prisma_migrations` table,
// driven through the driver adapter the client already uses. Nothing to download, ever.
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { bindMigrationAwareSqlAdapterFactory, type SqlDriverAdapter, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils'
import * as bg from '@prisma/schema-engine-wasm/schema_engine_bg'

export type SchemaEngine = bg.SchemaEngine

// @types/node 20 does not declare the WebAssembly global; this is the part used here.
declare const WebAssembly: {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>
}

let ready: Promise<void> | undefined

/** The package's main file is bundler-style (`import './x.wasm'`), which Node cannot load: wire it by hand. */
function loadWasm(): Promise<void> {
  ready ??= (async () => {
    const require = createRequire(import.meta.url)
    const dir = path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg'))
    const bytes = await readFile(path.join(dir, 'schema_engine_bg.wasm'))
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': bg })
    const exports = instance.exports as { __wbindgen_start: () => void }
    bg.__wbg_set_wasm(exports)
    exports.__wbindgen_start()
  })()
  return ready
}

export interface OpenEngine {
  engine: SchemaEngine
  /** Frees the engine and closes the database connections it opened (free() alone leaves them open). */
  close(): Promise<void>
}

/** Starts an engine for one schema file. The caller must `close()` it. */
export async function openSchemaEngine(
  schema: { path: string; text: string },
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  log: (message: string) => void = () => {},
): Promise<OpenEngine> {
  await loadWasm()
  const opened: SqlDriverAdapter[] = []
  const track = async <T extends SqlDriverAdapter>(connection: Promise<T>) => {
    const adapter = await connection
    opened.push(adapter)
    return adapter
  }
  const tracked: SqlMigrationAwareDriverAdapterFactory = {
    provider: adapterFactory.provider,
    adapterName: adapterFactory.adapterName,
    connect: () => track(adapterFactory.connect()),
    connectToShadowDb: () => track(adapterFactory.connectToShadowDb()),
  }
  const engine = await bg.SchemaEngine.new({ datamodels: [[schema.path, schema.text]] }, log, bindMigrationAwareSqlAdapterFactory(tracked) as object)
  return {
    engine,
    async close() {
      engine.free()
      await Promise.all(opened.map((adapter) => adapter.dispose()))
    },
  }
}
