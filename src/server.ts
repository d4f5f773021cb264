// Entry point for `npm start` and the container: read the configuration, start, and stop cleanly on
// SIGTERM/SIGINT (a second signal forces the exit).
import { startService } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { createLogger } from './logger.js'
import { MigrationError } from './store/migrate.js'

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
  let service
  try {
    service = await startService(config, { logger })
  } catch (error) {
    logger.fatal({ err: error }, error instanceof MigrationError ? 'refusing to start on a store that is not migrated' : 'start-up failed')
    process.exit(1)
  }

  let signals = 0
  const shutdown = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    logger.info({ signal }, 'shutting down')
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
}

await main()
