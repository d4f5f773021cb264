// The composition root: opens the store, builds the services, and serves HTTP. `src/server.ts`
// calls it for `npm start`; tests call it in-process with their own configuration.
//
// The HTTP server listens before the WhatsApp side is loaded: importing Baileys is the slowest step
// of start-up (about 0.7 s), and nothing HTTP needs waits for it. Until it is in, requests meet
// stand-ins (session/while-loading.ts); startService() resolves once the real session is in place
// and this process is either the WhatsApp connection's owner or on standby.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { UserFacingSocketConfig } from '@whiskeysockets/baileys'
import type { Config } from './config.js'
import { ApiError } from './errors.js'
import { createRequestListener } from './http/app.js'
import { createLogger, type Logger } from './logger.js'
import { openClient } from './store/database.js'
import { migrate } from './store/migrate.js'
import type { Services } from './services.js'
import { EventLog } from './events/log.js'
import { WebhookSettings } from './webhooks/settings.js'
import { WebhookWorker, workerOptionsFrom } from './webhooks/worker.js'
import type { ContactBook } from './session/contacts.js'
import { ConnectionLease, holdLease, type HeldLease } from './session/lease.js'
import type { WhatsAppSession } from './session/session.js'
import { ContactsWhileLoading, SessionWhileLoading } from './session/while-loading.js'
import type { WhatsAppSide } from './session/whatsapp-side.js'

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
  /**
   * Aborting it during start-up (a SIGTERM while migrating or loading Baileys) stops what was
   * started, as stop() would, and startService() rejects with StartAborted. Ignored once started.
   */
  signal?: AbortSignal
}

/** startService() was aborted through its `signal`; everything it had started is stopped. */
export class StartAborted extends Error {
  override name = 'StartAborted'
  constructor() {
    super('start-up aborted')
  }
}

export async function startService(config: Config, options: ServiceOptions = {}): Promise<Service> {
  const logger = options.logger ?? createLogger(config.LOG_LEVEL)
  const { signal } = options
  const applied = await migrate(config.DATABASE_URL)
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated')
  if (signal?.aborted) throw new StartAborted()
  const db = await openClient(config.DATABASE_URL)

  const events = new EventLog(db, config.EVENT_LOG_LIMIT)
  const webhookSettings = new WebhookSettings(db, config.WEBHOOK_SECRET)
  // Webhooks: EventLog writes the outbox row with the event and wakes the worker that delivers it.
  const webhookWorker = new WebhookWorker(db, webhookSettings, events, logger, workerOptionsFrom(config))
  events.useOutbox({ wants: (type) => webhookSettings.wants(type), notify: () => webhookWorker.notify() })

  // Settled by startWhatsApp() below; the stand-ins hand calls over to what it brings.
  let sideLoaded!: (side: WhatsAppSide) => void
  let sideFailed!: (error: unknown) => void
  const side = new Promise<WhatsAppSide>((resolve, reject) => {
    sideLoaded = resolve
    sideFailed = reject
  })
  const services: Services = {
    config,
    logger,
    db,
    events,
    webhookSettings,
    webhookWorker,
    // Services names the real classes, which have private members, so the stand-ins need a cast;
    // `implements` checks they cover everything requests can reach, and they are swapped for the
    // real ones before startService() returns.
    session: new SessionWhileLoading(side) as unknown as WhatsAppSession,
    contacts: new ContactsWhileLoading(side) as unknown as ContactBook,
  }
  const server = createServer(createRequestListener(services))
  // Longer than the usual client and proxy idle timeouts (so the server is not the one closing a
  // socket a client is about to reuse); stop() drops idle connections itself.
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000

  try {
    await webhookSettings.load()
    if (signal?.aborted) throw new StartAborted()
    await listen(server, config.PORT, config.HOST)
  } catch (error) {
    await db.$disconnect()
    throw error
  }
  const { port } = server.address() as AddressInfo
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  logger.info({ url, database: config.DATABASE_URL.startsWith('file:') ? 'sqlite' : 'postgresql' }, 'wsgo listening')

  let stopRequested = false
  let loaded: WhatsAppSide | undefined
  let ownership: HeldLease | undefined
  /** Loads Baileys and starts the session; returns undefined when a stop came first. */
  const startWhatsApp = async (): Promise<WhatsAppSide | undefined> => {
    const { createWhatsAppSide } = await import('./session/whatsapp-side.js')
    if (stopRequested) return undefined
    loaded = await createWhatsAppSide({ config, logger, db, events, printQr: options.printQr ?? true, socketOptions: options.socketOptions })
    if (stopRequested) return undefined
    const { session } = loaded
    // One process per database talks to WhatsApp and delivers webhooks; the others serve the API on
    // standby (their events still reach the outbox, which the owner delivers).
    ownership = holdLease(
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
    services.session = session
    services.contacts = loaded.contacts
    return loaded
  }
  const whatsappStarted = startWhatsApp()
  whatsappStarted.then(
    (started) => (started ? sideLoaded(started) : sideFailed(new ApiError('NOT_CONNECTED', 'The service is stopping'))),
    sideFailed,
  )

  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      stopRequested = true
      logger.info('stopping: no new requests, finishing in-flight ones')
      // In-flight deliveries finish alongside the requests. A start-up still in progress finishes
      // its step first: taking the lease would start the worker again.
      const startupSettled = whatsappStarted.then(
        () => {},
        () => {},
      )
      const webhooksStopped = startupSettled.then(() => webhookWorker.stop())
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // close() only drops connections idle right now; keep dropping those that finish their request.
      const sweep = setInterval(() => server.closeIdleConnections(), 50)
      const timer = setTimeout(() => server.closeAllConnections(), options.drainTimeoutMs ?? 10_000)
      await closed
      clearInterval(sweep)
      clearTimeout(timer)
      await startupSettled
      await ownership?.halt()
      await loaded?.session.stop()
      await ownership?.release()
      await webhooksStopped
      await db.$disconnect()
      logger.info('stopped')
    })())

  // Its outcome is awaited below; this only starts it.
  const onAbort = () => void stop().catch(() => {})
  signal?.addEventListener('abort', onAbort, { once: true })
  if (signal?.aborted) onAbort()
  try {
    await whatsappStarted
  } catch (error) {
    await stop()
    throw error
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
  if (stopRequested) {
    await stop()
    throw new StartAborted()
  }
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
