// Entry point for `npm start` (built into dist/server.mjs, see scripts/build.mjs) and the container:
// read the configuration, start, and stop cleanly on SIGTERM/SIGINT, also while still starting
// (a second signal forces the exit).
import { startService, StartAborted, type Service } from './service.js'
import { ConfigError, loadConfig } from './config.js'
import { createLogger } from './logger.js'
import { MigrationError } from './store/migrate.js'
import { StoreInUse } from './session/ownership.js'

async function main(): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message)
      process.exit(2)
    }
    throw error
  }
  const logger = createLogger(config.LOG_LEVEL)

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
    if (error instanceof StoreInUse) {
      logger.fatal(error.message)
      process.exit(1)
    }
    logger.fatal({ err: error }, error instanceof MigrationError ? 'refusing to start on a store that is not migrated' : 'start-up failed')
    process.exit(1)
  }
}

await main()
