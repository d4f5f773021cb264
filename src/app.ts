// The composition root: opens the store, builds the services, and serves HTTP. `src/server.ts`
// calls it for `npm start`; tests call it in-process with their own configuration.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Config } from './config.js'
import { createRequestListener } from './http/app.js'
import { createLogger, type Logger } from './logger.js'
import { openClient } from './store/database.js'
import { migrate } from './store/migrate.js'
import type { Services } from './services.js'
import { EventLog } from './events/log.js'
import { WebhookSettings } from './webhooks/settings.js'
import { WebhookWorker, workerOptionsFrom } from './webhooks/worker.js'
import { AuthStore } from './session/auth-store.js'
import { ContactBook } from './session/contacts.js'
import { WhatsAppSession } from './session/session.js'
import { SentMessageStore } from './session/sent-messages.js'
import { ConnectionLease, holdLease } from './session/lease.js'
import type { UserFacingSocketConfig } from '@whiskeysockets/baileys'

export interface Service {
  /** Base URL the HTTP server listens on, e.g. http://127.0.0.1:8080 */
  url: string
  services: Services
  /** Graceful stop: no new requests, in-flight ones finish, then WhatsApp and the database close. */
  stop(): Promise<void>
}

export interface ServiceOptions {
  logger?: Logger
  /** How long in-flight requests get to finish on stop before their connections are cut. */
  drainTimeoutMs?: number
  /** Extra Baileys socket options, merged over the service's own (tests: a fetch agent for a local media host). */
  socketOptions?: Partial<UserFacingSocketConfig>
  /** Print QR codes in the terminal (default true, as `npm start` wants). */
  printQr?: boolean
}

export async function startService(config: Config, options: ServiceOptions = {}): Promise<Service> {
  const logger = options.logger ?? createLogger(config.LOG_LEVEL)
  const applied = await migrate(config.DATABASE_URL)
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated')
  const db = await openClient(config.DATABASE_URL)

  const events = new EventLog(db, config.EVENT_LOG_LIMIT)
  const webhookSettings = new WebhookSettings(db, config.WEBHOOK_SECRET)
  await webhookSettings.load()
  // Webhooks: EventLog writes the outbox row with the event and wakes the worker that delivers it.
  const webhookWorker = new WebhookWorker(db, webhookSettings, events, logger, workerOptionsFrom(config))
  events.useOutbox({ wants: (type) => webhookSettings.wants(type), notify: () => webhookWorker.notify() })

  const contacts = new ContactBook(db)
  await contacts.load()
  const session = new WhatsAppSession({
    config,
    logger,
    auth: new AuthStore(db),
    contacts,
    events,
    sentMessages: new SentMessageStore(db),
    printQr: options.printQr ?? true,
    ...(options.socketOptions && { socketOptions: options.socketOptions }),
  })

  const services: Services = { config, logger, db, events, webhookSettings, webhookWorker, session, contacts }
  const server = createServer(createRequestListener(services))
  // Longer than the usual client and proxy idle timeouts (so the server is not the one closing a
  // socket a client is about to reuse); stop() drops idle connections itself.
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000

  try {
    await listen(server, config.PORT, config.HOST)
  } catch (error) {
    await db.$disconnect()
    throw error
  }
  const { port } = server.address() as AddressInfo
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  logger.info({ url, database: config.DATABASE_URL.startsWith('file:') ? 'sqlite' : 'postgresql' }, 'wsgo listening')
  // One process per database talks to WhatsApp and delivers webhooks; the others serve the API on
  // standby (their events still reach the outbox, which the owner delivers).
  const ownership = holdLease(
    new ConnectionLease(db, config.WA_LEASE_TTL_MS),
    {
      onAcquired: async () => {
        await webhookWorker.start()
        await session.start()
      },
      onStandby: async (holder) => {
        await webhookWorker.stop()
        await session.standby(holder)
      },
    },
    logger,
  )
  await ownership.ready

  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('stopping: no new requests, finishing in-flight ones')
      const webhooksStopped = webhookWorker.stop() // in-flight deliveries finish alongside the requests
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // close() only drops connections idle right now; keep dropping those that finish their request.
      const sweep = setInterval(() => server.closeIdleConnections(), 50)
      const timer = setTimeout(() => server.closeAllConnections(), options.drainTimeoutMs ?? 10_000)
      await closed
      clearInterval(sweep)
      clearTimeout(timer)
      await ownership.halt()
      await session.stop()
      await ownership.release()
      await webhooksStopped
      await db.$disconnect()
      logger.info('stopped')
    })())

  return { url, services, stop }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}
