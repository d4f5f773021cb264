// The sessions of the deployment, as this process sees them: every session is held here (see
// session.ts), the ones this process owns are connected, and route() says where a request for a
// session is answered: here, at the owner's URL, or nowhere for the moment (it is changing hands).
import { ApiError, storeUnavailableMessage } from '../errors.js'
import { deleteSessionRows } from '../store/session-rows.js'
import { storeHealthOf, type Db } from '../store/database.js'
import type { StoreHealth } from '../store/store-health.js'
import { storeFaultOf } from '../store/store-faults.js'
import { DEFAULT_SESSION } from './names.js'
import { Ownership, type Owner } from './ownership.js'
import { Session, type SessionDependencies } from './session.js'
import type { SessionStatus, StoreStatus } from './shapes.js'
import { observeSession } from '../metrics/observe.js'

const STARTING: SessionStatus = { connected: false, loggedIn: false, device: '', pushName: '', platform: '', state: 'connecting', lastDisconnect: null }

export type Route = { kind: 'local'; session: Session } | { kind: 'remote'; session: Session; owner: Owner } | { kind: 'none'; session: Session }

export interface SessionManagerOptions extends SessionDependencies {
  /** This process's URL as the other processes reach it (known once the server listens). */
  internalUrl: () => string
}

export class SessionManager {
  private readonly sessions = new Map<string, Session>()
  readonly ownership: Ownership
  private readonly db: Db
  private started: Promise<void> | undefined
  private isReady = false
  /** Whether the store works (store-health.ts): reported by /health and in every status. */
  readonly storeHealth: StoreHealth

  constructor(private readonly options: SessionManagerOptions) {
    this.db = options.db
    this.storeHealth = storeHealthOf(options.db)
    this.storeHealth.useLogger(options.logger)
    this.ownership = new Ownership(
      options.db,
      {
        ttlMs: options.config.WA_LEASE_TTL_MS,
        url: options.internalUrl,
        provider: /^postgres(ql)?:\/\//i.test(options.config.DATABASE_URL) ? 'postgresql' : 'sqlite',
        logger: options.logger,
      },
      {
        sessions: () => this.sync(),
        acquire: async (name, continued) => (await this.get(name)).own({ continued }),
        release: async (name) => this.sessions.get(name)?.disown(),
      },
    )
  }

  /** On SQLite, makes sure no other live process uses the file (StoreInUse); call before serving. */
  claimStore(): Promise<void> {
    return this.ownership.claimStore()
  }

  /**
   * Opens every session (creating `default` on a new store) and takes this process's share, after
   * `first` (service.ts: waiting for a store that could not be written at start-up).
   */
  start(first?: () => Promise<void>): Promise<void> {
    return (this.started ??= (async () => {
      await first?.()
      await this.db.session.upsert({ where: { name: DEFAULT_SESSION }, create: { name: DEFAULT_SESSION }, update: {} })
      await this.ownership.start()
      this.isReady = true
    })())
  }

  /** Resolves once start() has taken this process's first share (or failed). */
  get ready(): Promise<void> {
    return this.started ?? Promise.reject(new Error('the session manager was not started'))
  }

  async stop(): Promise<void> {
    await this.started?.catch(() => {})
    await this.ownership.stop()
    this.storeHealth.stop()
  }

  /** The store as this process sees it, in the shape of a status's `store` field. */
  storeStatus(): StoreStatus {
    const state = this.storeHealth.state
    if (state.status === 'ok') return { status: 'ok', cause: null, reason: null, since: null }
    return { status: 'degraded', cause: state.fault.kind, reason: state.fault.message, since: state.since.toISOString() }
  }

  /** A session by name; 404 when there is none (it may have been created by another process a moment ago). */
  async get(name: string): Promise<Session> {
    const known = this.sessions.get(name)
    if (known) return known
    const row = await this.db.session.findUnique({ where: { name } })
    if (!row) throw new ApiError('NOT_FOUND', `No session named "${name}"`)
    return this.open(name)
  }

  /**
   * Where a request for `name` is answered. Waits for start-up to have taken its first share, and
   * for a session that is changing hands to have its new owner (up to `waitMs`).
   */
  async route(name: string, waitMs = 0): Promise<Route> {
    const session = await this.get(name)
    // Not started because the store failed at start-up: say so rather than wait for it.
    const store = this.storeHealth.state
    if (!this.isReady && store.status === 'degraded') throw new ApiError('STORE_UNAVAILABLE', storeUnavailableMessage(store.fault.message))
    await this.ready
    const deadline = Date.now() + waitMs
    for (;;) {
      if (this.ownership.owns(name)) return { kind: 'local', session }
      const owner = this.ownership.ownerOf(name) ?? (await this.ownership.currentOwner(name))
      if (owner) return { kind: 'remote', session, owner }
      if (Date.now() >= deadline) return { kind: 'none', session }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /**
   * The status of a session wherever it is owned. While this process is still starting it says
   * `connecting` at once rather than wait; with no owner (moving between processes), `standby`.
   */
  async statusOf(name: string, forward?: (owner: Owner) => Promise<SessionStatus>): Promise<SessionStatus> {
    const session = await this.get(name)
    // Only while degraded: a healthy status is exactly the contract's.
    const store = this.storeHealth.ok ? {} : { store: this.storeStatus() }
    if (!this.isReady) return { ...STARTING, ...store }
    // With the database down, who owns the session cannot be read: the status says what is known here.
    const route = await this.route(name).catch((error: unknown): Route => {
      if (storeFaultOf(error)) return { kind: 'none', session }
      throw error
    })
    if (route.kind === 'local') return { ...(await route.session.connection()).status(), ...store }
    if (route.kind === 'remote' && forward) return { ...store, ...(await forward(route.owner)) }
    const reason =
      route.kind === 'remote'
        ? `owned by another process (${route.owner.node})`
        : (this.ownership.suspendedReason(name) ?? 'no process owns this session right now: it is moving to another process')
    return { ...STARTING, state: 'standby', lastDisconnect: { code: null, reason, at: new Date().toISOString() }, ...store }
  }

  /** Sessions by name, `limit` at most, after the name `after`. */
  async list(options: { limit: number; after?: string | undefined }): Promise<Array<{ name: string; createdAt: Date }>> {
    return this.db.session.findMany({
      where: options.after ? { name: { gt: options.after } } : {},
      orderBy: { name: 'asc' },
      take: options.limit,
    })
  }

  async createdAt(name: string): Promise<Date> {
    const row = await this.db.session.findUnique({ where: { name } })
    if (!row) throw new ApiError('NOT_FOUND', `No session named "${name}"`)
    return row.createdAt
  }

  /** A new session; 409 when the name is taken. Its owner connects it within a moment. */
  async create(name: string, setup: (session: Session) => Promise<void> = async () => {}): Promise<Session> {
    try {
      await this.db.session.create({ data: { name } })
    } catch {
      throw new ApiError('CONFLICT', `A session named "${name}" already exists`)
    }
    const session = await this.open(name)
    await setup(session)
    this.ownership.nudge()
    return session
  }

  /** Deletes a session this process owns: logs out of WhatsApp, stops it, and wipes its rows. */
  async delete(name: string): Promise<void> {
    if (name === DEFAULT_SESSION) throw new ApiError('CONFLICT', 'The default session cannot be deleted; POST /api/logout unpairs it')
    const session = await this.get(name)
    const connection = await session.currentConnection()
    if (connection?.status().loggedIn) await connection.logout().catch(() => {})
    await this.ownership.giveUp(name)
    await session.disown()
    await deleteSessionRows(this.db, name)
    this.sessions.delete(name)
    this.ownership.nudge()
  }

  private async open(name: string): Promise<Session> {
    const session = this.sessions.get(name) ?? (await Session.open(name, this.options))
    // Another call may have opened it while this one awaited.
    const existing = this.sessions.get(name)
    if (existing) return existing
    this.sessions.set(name, session)
    observeSession(session)
    return session
  }

  /** The sessions in the store now: new ones are opened, deleted ones dropped (stopped first). */
  private async sync(): Promise<string[]> {
    const names = (await this.db.session.findMany({ select: { name: true } })).map((row) => row.name)
    for (const name of names) if (!this.sessions.has(name)) await this.open(name)
    const current = new Set(names)
    for (const [name, session] of this.sessions) {
      if (current.has(name)) continue
      this.sessions.delete(name)
      await session.disown()
    }
    return names
  }
}
