// Entry point for `npm start` (built into dist/server.mjs, see scripts/build.mjs) and the container:
// read the configuration, start, and stop cleanly on SIGTERM/SIGINT, also while still starting
// (a second signal forces the exit). A start-up that fails says why in one sentence with its cause,
// not with a stack trace (which, from Prisma's WebAssembly, names nothing a user can act on).
import { startService, StartAborted, type Service } from './service.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { createLogger } from './logger.js'
import { DatabasePathError } from './store/database-directory.js'
import { MigrationError } from './store/migrate.js'
import { StoreInUse } from './session/ownership.js'

/** What went wrong at start-up, for a person: a sentence saying what to do, and the error's own words. */
function startupFailure(error: unknown, config: Pick<Config, 'PORT' | 'HOST' | 'DATABASE_URL'>): { sentence: string; cause?: string } {
  const code = (error as { code?: unknown } | null)?.code
  const where = `${config.HOST}:${config.PORT}`
  if (code === 'EADDRINUSE') return { sentence: `Cannot listen on ${where}: the port is in use by another program; stop it, or set PORT to a free port`, cause: causeOf(error) }
  if (code === 'EACCES') return { sentence: `Cannot listen on ${where}: not allowed (ports below 1024 need privileges); set PORT to 1024 or above`, cause: causeOf(error) }
  if (code === 'EADDRNOTAVAIL') return { sentence: `Cannot listen on ${where}: ${config.HOST} is not an address of this machine; set HOST to one of its addresses, or 0.0.0.0`, cause: causeOf(error) }
  if (error instanceof StoreInUse) return { sentence: error.message }
  if (error instanceof DatabasePathError) {
    return { sentence: `Refusing to start: the SQLite database ${error.file} cannot be created there; set DATABASE_URL to a file in a directory this process can write`, cause: error.message }
  }
  const database = config.DATABASE_URL.startsWith('file:') ? `the SQLite database ${config.DATABASE_URL.slice('file:'.length)}` : 'the PostgreSQL database'
  if (error instanceof MigrationError) return { sentence: `Refusing to start: ${database} could not be brought up to date (migrated)`, cause: causeOf(error) }
  return { sentence: `Start-up failed while opening ${database} or starting the sessions`, cause: causeOf(error) }
}

/** An error's message and those of its causes, without stack frames, on one line. */
function causeOf(error: unknown): string {
  const parts: string[] = []
  for (let at: unknown = error, depth = 0; at !== undefined && at !== null && depth < 4; at = (at as { cause?: unknown }).cause, depth++) {
    const message = at instanceof Error ? at.message : String(at)
    const lines = message.split('\n').map((line) => line.trim())
    // The span trace Prisma's schema engine appends (`0: sql_schema_connector::...` and what follows) ends the sentence.
    const trace = lines.findIndex((line) => /^\d+: \w+(::\w+)+/.test(line))
    const text = (trace < 0 ? lines : lines.slice(0, trace))
      .filter((line) => line !== '' && !/^at\s/.test(line) && !/wasm:\/\/|wasm-function/.test(line))
      .join(' ')
    if (text && !parts.some((part) => part.includes(text))) parts.push(text)
  }
  const joined = parts.join(': ')
  return joined.length > 600 ? `${joined.slice(0, 600)}…` : joined
}

async function main(): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      // Before a logger exists (LOG_FORMAT is part of what failed): plain text on stderr.
      console.error(`wsgo cannot start: ${error.message.replace(/^Invalid configuration/, 'the configuration is invalid')}`)
      process.exit(2)
    }
    throw error
  }
  const logger = createLogger(config.LOG_LEVEL, undefined, config.LOG_FORMAT)

  // Installed before starting: HTTP answers early, and a signal can come while Baileys still loads.
  const starting = new AbortController()
  let service: Service | undefined
  let signals = 0
  const shutdown = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    logger.info({ signal }, 'shutting down')
    if (!service) {
      starting.abort() // startService() stops what it started, then rejects with StartAborted
      return
    }
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'error while shutting down')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)

  try {
    service = await startService(config, { logger, signal: starting.signal })
  } catch (error) {
    if (error instanceof StartAborted) {
      logger.info('stopped during start-up')
      process.exit(0)
    }
    const { sentence, cause } = startupFailure(error, config)
    logger.fatal(cause === undefined ? {} : { cause }, sentence)
    // The whole error, stack included, for whoever debugs the service itself.
    logger.debug({ err: error }, 'start-up failure in detail')
    process.exit(1)
  }
}

await main()
