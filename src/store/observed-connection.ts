// The database connection Prisma's client drives, seen from the service: every statement's failure
// is reported (store-health.ts decides whether it is a store fault), and the connection underneath
// can be replaced while the client keeps running. SQLite needs that: a connection that opened a
// read-only file stays read-only after the file is fixed, and one whose file was deleted keeps
// writing into the deleted file. Replacing it waits for the statements and transactions in flight,
// and holds new ones until the new connection is in place.
import { waitForSlice } from '../event-loop-slice.js'
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory, SqlQuery, Transaction, IsolationLevel } from '@prisma/driver-adapter-utils'

export { SLICE_MS } from '../event-loop-slice.js'

export interface ConnectionObserver {
  failed(error: unknown): void
}

export class ObservedConnection implements SqlDriverAdapter {
  private current: SqlDriverAdapter
  /** Statements and open transactions on `current`. */
  private busy = 0
  private idle: (() => void) | undefined
  /** Set while the connection is being replaced or used alone: new work waits for it. */
  private gate: Promise<void> | undefined
  readonly getConnectionInfo?: SqlDriverAdapter['getConnectionInfo']

  constructor(
    first: SqlDriverAdapter,
    private readonly observer: ConnectionObserver,
  ) {
    this.current = first
    if (first.getConnectionInfo) this.getConnectionInfo = () => this.current.getConnectionInfo!()
  }

  get provider() {
    return this.current.provider
  }

  get adapterName() {
    return this.current.adapterName
  }

  queryRaw(query: SqlQuery) {
    return this.run(() => this.current.queryRaw(query))
  }

  executeRaw(query: SqlQuery) {
    return this.run(() => this.current.executeRaw(query))
  }

  executeScript(script: string) {
    return this.run(() => this.current.executeScript(script))
  }

  async startTransaction(isolationLevel?: IsolationLevel): Promise<Transaction> {
    await this.turn()
    await this.gate
    this.enter()
    let transaction: Transaction
    try {
      transaction = await this.current.startTransaction(isolationLevel)
    } catch (error) {
      this.leave()
      this.observer.failed(error)
      throw error
    }
    return this.observeTransaction(transaction)
  }

  dispose(): Promise<void> {
    return this.current.dispose()
  }

  /**
   * Runs `work` on the connection with nothing else in flight (new statements wait), e.g. copying
   * the database elsewhere; with `replace`, the connection is swapped for a new one after it.
   */
  async alone<T>(work: (connection: SqlDriverAdapter) => Promise<T>, replace?: () => Promise<SqlDriverAdapter>): Promise<T> {
    while (this.gate) await this.gate
    let open!: () => void
    this.gate = new Promise<void>((resolve) => (open = resolve))
    try {
      if (this.busy > 0) await new Promise<void>((resolve) => (this.idle = resolve))
      const result = await work(this.current)
      if (replace) {
        const next = await replace()
        const previous = this.current
        this.current = next
        await previous.dispose().catch(() => {})
      }
      return result
    } finally {
      this.gate = undefined
      open()
    }
  }

  private async run<T>(statement: () => Promise<T>): Promise<T> {
    await this.turn()
    if (this.gate) await this.gate
    this.enter()
    try {
      return await statement()
    } catch (error) {
      this.observer.failed(error)
      throw error
    } finally {
      this.leave()
    }
  }

  /**
   * better-sqlite3 works synchronously behind its promises: without turns of the event loop, a burst
   * (Baileys' key store, the event log, the outbox, the message store) is one long task and HTTP and
   * timers wait for all of it (issue 18 #2). PostgreSQL waits on the network, which yields.
   *
   * A turn before every statement made each chain of statements (the ingest queue: an event, its
   * outbox row, its commit) wait a whole loop iteration per statement, and under a storm an iteration
   * is tens of milliseconds: that, not SQLite, bounded the burst's throughput. So statements run on
   * at once while the current slice of the loop has spent less than SLICE_MS on them, and wait for
   * the next turn after that: long tasks stay bounded by the slice, a chain runs a slice's worth of
   * statements per turn. The slice is the process's (src/event-loop-slice.ts): Baileys' stanza
   * queue and its outgoing messages spend from the same one.
   */
  private turn(): Promise<void> | undefined {
    return this.current.provider === 'sqlite' ? waitForSlice() : undefined
  }

  private enter(): void {
    this.busy++
  }

  private leave(): void {
    this.busy--
    if (this.busy === 0 && this.idle) {
      const idle = this.idle
      this.idle = undefined
      idle()
    }
  }

  private observeTransaction(transaction: Transaction): Transaction {
    let open = true
    const end = () => {
      if (open) this.leave()
      open = false
    }
    const watch = <T>(call: Promise<T>, ends = false): Promise<T> =>
      call.then(
        (value) => {
          if (ends) end()
          return value
        },
        (error: unknown) => {
          if (ends) end()
          this.observer.failed(error)
          throw error
        },
      )
    // Only the calls that go to the database are watched; the rest (options, savepoints) pass through.
    return new Proxy(transaction, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver)
        if (typeof value !== 'function') return value
        if (property === 'queryRaw' || property === 'executeRaw') return (query: SqlQuery) => watch(value.call(target, query))
        if (property === 'commit' || property === 'rollback') return () => watch(value.call(target), true)
        return value.bind(target)
      },
    })
  }
}

/** A factory whose connections are observed; the last one Prisma opened is `connection`. */
export class ObservedAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  connection: ObservedConnection | undefined

  constructor(
    private readonly inner: SqlMigrationAwareDriverAdapterFactory,
    private readonly observer: ConnectionObserver,
  ) {}

  get provider() {
    return this.inner.provider
  }

  get adapterName() {
    return this.inner.adapterName
  }

  async connect(): Promise<SqlDriverAdapter> {
    let first: SqlDriverAdapter
    try {
      first = await this.inner.connect()
    } catch (error) {
      this.observer.failed(error)
      throw error
    }
    this.connection = new ObservedConnection(first, this.observer)
    return this.connection
  }

  connectToShadowDb(): Promise<SqlDriverAdapter> {
    return this.inner.connectToShadowDb()
  }

  /** A new connection to the same database, not observed (it replaces the one in use). */
  fresh(): Promise<SqlDriverAdapter> {
    return this.inner.connect()
  }
}
