// The composition root: opens the store, builds the services, and serves HTTP. `src/server.ts`
// calls it for `npm start`; tests call it in-process with their own configuration.
//
// The HTTP server listens before the sessions connect: importing Baileys is the slowest step of
// start-up (about 0.7 s), and nothing HTTP needs waits for it. Until this process has taken its share
// of the sessions, their status says `connecting` and other calls wait (session/manager.ts);
// startService() resolves once that share is connected or showing a QR.
//
// A SQLite store that cannot be opened or written at start-up (a read-only file or directory, a full
// disk) does not stop the service: it listens degraded (/health 503 with the cause) and migrates,
// claims the file and starts the sessions once the store's probe succeeds (store/store-health.ts).
import { createServer, type Server } from 'node:http'
import { isIP, type AddressInfo } from 'node:net'
import { hostname } from 'node:os'
import type { UserFacingSocketConfig } from '@whiskeysockets/baileys'
import type { Config } from './config.js'
import { answerClientError } from './http/client-error.js'
import { Forwarder } from './http/forward.js'
import { IdempotencyStore } from './idempotency/store.js'
import { createRequestListener } from './http/request-listener.js'
import { createLogger, type Logger } from './logger.js'
import { openClient, storeHealthOf, type Db } from './store/database.js'
import { migrate, StoreNotReady } from './store/migrate.js'
import { storeFaultOf } from './store/store-faults.js'
import type { Services } from './services.js'
import { SessionKeys } from './session/keys.js'
import { SessionManager } from './session/manager.js'
import { streamRegistryOf } from './events/stream-registry.js'

export interface Service {
  /** Base URL the HTTP server listens on, e.g. http://127.0.0.1:8080 */
  url: string
  services: Services
  /** The store, for tools and tests that look at it directly (request handlers reach it through `services`). */
  db: Db
  /** Graceful stop: no new requests, in-flight ones finish, then the sessions and the database close. */
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
   * Aborting it during start-up (a SIGTERM while migrating or connecting) stops what was started,
   * as stop() would, and startService() rejects with StartAborted. Ignored once started.
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
  const logger = options.logger ?? createLogger(config.LOG_LEVEL, undefined, config.LOG_FORMAT)
  const { signal } = options
  // A server that never answers (PostgreSQL behind a firewall) must not keep a SIGTERM waiting.
  const migrated = await migrateUnlessNotReady(config.DATABASE_URL, logger, signal)
  if (signal?.aborted) throw new StartAborted()
  const db = await openClient(config.DATABASE_URL)
  if (migrated !== true) storeHealthOf(db).degrade(migrated.fault)

  // The URL the other processes forward to is known once the port is (PORT=0 in tests).
  let internalUrl = config.INTERNAL_URL ?? ''
  const sessions = new SessionManager({
    config,
    logger,
    db,
    printQr: options.printQr ?? true,
    socketOptions: options.socketOptions,
    internalUrl: () => internalUrl,
  })
  const services: Services = { config, logger, sessions, keys: new SessionKeys(db), forward: new Forwarder(config), idempotency: new IdempotencyStore(db) }
  const server = createServer(createRequestListener(services))
  // Longer than the usual client and proxy idle timeouts (so the server is not the one closing a
  // socket a client is about to reuse); stop() drops idle connections itself.
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  // Every open connection holds a file descriptor and buffers; past the cap new ones are closed at
  // once (Node's maxConnections) until some end, and the operator is told, at most every 10 s.
  server.maxConnections = config.MAX_CONNECTIONS
  let lastDropWarning = 0
  server.on('drop', () => {
    if (Date.now() - lastDropWarning < 10_000) return
    lastDropWarning = Date.now()
    logger.warn({ maxConnections: config.MAX_CONNECTIONS }, `refusing new connections: ${config.MAX_CONNECTIONS} are open (MAX_CONNECTIONS)`)
  })
  server.on('clientError', answerClientError(logger))

  let storeClaimed: boolean
  try {
    storeClaimed = migrated === true && (await claimStore(sessions, logger, signal))
    if (signal?.aborted) throw new StartAborted()
    await listen(server, config.PORT, config.HOST)
  } catch (error) {
    sessions.storeHealth.stop()
    await db.$disconnect()
    throw error
  }
  const { address, port } = server.address() as AddressInfo
  const everywhere = address === '0.0.0.0' || address === '::'
  const url = `http://${everywhere ? '127.0.0.1' : bracketed(address)}:${port}`
  // Bound to every interface, the other processes reach this one by its host name (as in the compose file).
  internalUrl = config.INTERNAL_URL ?? (everywhere ? `http://${hostname()}:${port}` : url)
  const listening = `http://${bracketed(address)}:${port}`
  logger.info(
    { address: listening, database: config.DATABASE_URL.startsWith('file:') ? 'sqlite' : 'postgresql' },
    `wsgo listening on ${listening} (${everywhere ? 'all interfaces' : isLoopback(address) ? 'this machine only' : 'this address only'})`,
  )
  if (config.API_KEY === undefined && !isLoopback(address)) {
    logger.warn(
      `No API_KEY is set and the API is reachable from other machines (${listening}): anyone who can reach it can read and send messages and pair the account from /qr. Set API_KEY, or HOST=127.0.0.1 to keep it on this machine`,
    )
  }
  logger.info(`open ${pairingUrl(config, address, port)} to pair`)

  let stopRequested = false
  // A store that could not be written: the sessions start once it can (the claim is made then, by
  // the ownership's start); until then /health and /api/status say why.
  const sessionsStarted = sessions.start(
    storeClaimed
      ? undefined
      : async () => {
          await sessions.storeHealth.whenOk(signal)
          if (migrated !== true) await unlessAborted(migrateLogged(config.DATABASE_URL, logger), signal)
        },
  )

  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      stopRequested = true
      logger.info('stopping: no new requests, finishing in-flight ones')
      // Live event streams never finish on their own: they end now, telling their clients why.
      streamRegistryOf(services).endAll('the service is stopping')
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // close() only drops connections idle right now; keep dropping those that finish their request.
      const sweep = setInterval(() => server.closeIdleConnections(), 50)
      const timer = setTimeout(() => server.closeAllConnections(), options.drainTimeoutMs ?? 10_000)
      await closed
      clearInterval(sweep)
      clearTimeout(timer)
      // Each session's socket closes and its in-flight deliveries finish, then its lease is freed
      // for another process.
      await sessions.stop()
      await db.$disconnect()
      logger.info('stopped')
    })())

  // Its outcome is awaited below; this only starts it.
  const onAbort = () => void stop().catch(() => {})
  signal?.addEventListener('abort', onAbort, { once: true })
  if (signal?.aborted) onAbort()
  try {
    await sessionsStarted
  } catch (error) {
    await stop()
    throw stopRequested ? new StartAborted() : error
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
  if (stopRequested) {
    await stop()
    throw new StartAborted()
  }
  return { url, services, db, stop }
}

async function migrateLogged(url: string, logger: Logger): Promise<void> {
  const applied = await migrate(url)
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated')
}

/**
 * Migrates, or says the store cannot be read yet (StoreNotReady: a SQLite file or directory that
 * cannot be opened or written), in which case the service starts degraded and migrates later.
 */
async function migrateUnlessNotReady(url: string, logger: Logger, signal: AbortSignal | undefined): Promise<true | StoreNotReady> {
  try {
    await unlessAborted(migrateLogged(url, logger), signal)
    return true
  } catch (error) {
    if (!(error instanceof StoreNotReady)) throw error
    logger.warn({ cause: error.fault.kind }, `starting degraded: ${error.fault.message}; /health answers 503 and the sessions start once the database can be opened and written`)
    return error
  }
}

/**
 * SQLite: takes the file for this process (StoreInUse if a live process has it). Resolves to false
 * when the store cannot be written (a read-only file, a full disk): the service then starts
 * degraded, answering /health and /api/status, instead of refusing to start (issue 18 #6).
 */
async function claimStore(sessions: SessionManager, logger: Logger, signal: AbortSignal | undefined): Promise<boolean> {
  // Telling a live holder from a dead one can take up to twice the lease time: say what is awaited.
  const slow = setTimeout(() => logger.info('waiting for the SQLite database: another process may still be using it (checking whether it is alive)'), 1_000)
  try {
    await unlessAborted(sessions.claimStore(), signal)
    return true
  } catch (error) {
    const fault = storeFaultOf(error)
    if (!fault) throw error
    sessions.storeHealth.degrade(fault)
    logger.warn({ cause: fault.kind }, `starting degraded: ${fault.message}; /health answers 503 and the sessions start once the database can be written`)
    return false
  } finally {
    clearTimeout(slow)
  }
}

/**
 * `work`, or StartAborted as soon as `signal` aborts: start-up steps that wait on something outside
 * (a database server, another process's lease) do not hold a SIGTERM. The step itself is left to
 * end on its own; the process is on its way out.
 */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work
  work.catch(() => {}) // its outcome no longer matters once aborted
  return new Promise<T>((resolve, reject) => {
    const aborted = () => reject(new StartAborted())
    if (signal.aborted) return aborted()
    signal.addEventListener('abort', aborted, { once: true })
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', aborted))
  })
}

/** Whether only this machine can reach the address (127.0.0.0/8, ::1, or IPv4-mapped loopback). */
export function isLoopback(address: string): boolean {
  return /^(127\.|::ffff:127\.)/.test(address) || address === '::1' || address === 'localhost'
}

const bracketed = (address: string) => (isIP(address) === 6 ? `[${address}]` : address)

/** Where a person opens the pairing page: PUBLIC_URL when set, localhost on this machine, else the address itself. */
function pairingUrl(config: Config, address: string, port: number): string {
  if (config.PUBLIC_URL) return `${config.PUBLIC_URL.replace(/\/$/, '')}/qr`
  const here = address === '0.0.0.0' || address === '::' || isLoopback(address)
  return `http://${here ? 'localhost' : bracketed(address)}:${port}/qr`
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
