// Which process owns which session when several processes share one database. Two live sockets on
// one auth state make WhatsApp close both with 440 ("replaced"), again and again, so each session
// has exactly one owner: the process holding its row in the Lease table, renewed every third of
// WA_LEASE_TTL_MS. No other infrastructure is needed than the database itself.
//
// Every process runs the same tick: it renews its own row in ServiceNode (the live processes and
// the URLs they are reached at), renews its leases, and computes from what it reads who should own
// each session: the sessions are spread evenly over the live processes, each going to the process
// that ranks highest for it by rendezvous hashing among those with room left, so a process joining
// or leaving moves few sessions. Then it acts on its own part only:
//   - a session it owns that belongs elsewhere now (a process joined): it closes the session's socket
//     first and releases the lease after, so the next owner never meets it on WhatsApp;
//   - a session that should be its own and whose lease is free or expired (the owner released it,
//     or died and stopped renewing): it takes the lease and connects;
//   - a lease it held that someone else now holds (it could not renew in time): it stops at once.
//
// SQLite serves one process: the first holds a lease on the file, and a second one that finds it
// renewed by a live process is refused (one killed a moment ago is waited for instead).
import { createHash, randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Logger } from '../logger.js'
import type { Db } from '../store/database.js'

/** Not a valid session name, so it cannot collide with one. */
const SQLITE_PROCESS_LEASE = '_sqlite-process'

export interface OwnershipHooks {
  /** The sessions that exist now (read from the store each tick; new ones are opened). */
  sessions(): Promise<string[]>
  /** This process now owns `name`: connect it. */
  acquire(name: string): Promise<void>
  /** This process no longer owns `name`: resolves once its socket is closed. */
  release(name: string): Promise<void>
}

export interface OwnershipOptions {
  ttlMs: number
  /** This process's URL as the others reach it (INTERNAL_URL). */
  url: () => string
  provider: 'sqlite' | 'postgresql'
  logger: Logger
}

export interface Owner {
  node: string
  url: string
}

/** Raised when a second process starts on a SQLite file a live process is using. */
export class StoreInUse extends Error {
  override name = 'StoreInUse'
}

export class Ownership {
  readonly node = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  private readonly owned = new Set<string>()
  /** Sessions being handed over or taken over right now (one transition at a time per session). */
  private readonly moving = new Map<string, Promise<void>>()
  private owners = new Map<string, Owner>()
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> = Promise.resolve()
  private stopped = false
  private claimedStore = false
  /** When the leases were last renewed: past most of their lifetime without it, this process lets go. */
  private renewedAt = 0
  private readonly log: Logger

  constructor(
    private readonly db: Db,
    private readonly options: OwnershipOptions,
    private readonly hooks: OwnershipHooks,
  ) {
    this.log = options.logger.child({ module: 'ownership', node: this.node })
  }

  /**
   * Joins: registers this process, takes its share of the sessions and connects them. Resolves
   * once the sessions it took at first are started.
   */
  async start(): Promise<void> {
    await this.claimStore()
    const first = await this.tick()
    this.schedule()
    await first.effects
  }

  /** Whether this process owns `name` now. */
  owns(name: string): boolean {
    return this.owned.has(name)
  }

  /** The owner of `name` as of the last tick, if a live process owns it. */
  ownerOf(name: string): Owner | undefined {
    if (this.owned.has(name)) return { node: this.node, url: this.options.url() }
    return this.owners.get(name)
  }

  /** The owner of `name` as the store says now (between ticks, e.g. while a session moves). */
  async currentOwner(name: string): Promise<Owner | undefined> {
    if (this.owned.has(name)) return this.ownerOf(name)
    const lease = await this.db.lease.findUnique({ where: { name } })
    if (!lease || lease.expiresAt <= new Date()) return undefined
    const node = await this.db.serviceNode.findUnique({ where: { id: lease.owner } })
    if (!node || node.seenAt.getTime() <= Date.now() - this.options.ttlMs) return undefined
    const owner = { node: node.id, url: node.url }
    this.owners.set(name, owner)
    return owner
  }

  /** Looks again soon (a session was created or deleted). */
  nudge(): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.runTick(), 0)
  }

  /** Gives every session up (sockets closed first), then leaves. */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running.catch(() => {})
    await Promise.all([...this.moving.values()])
    await Promise.all([...this.owned].map((name) => this.handOver(name)))
    await this.db.lease.deleteMany({ where: { owner: this.node } }).catch((error) => this.log.warn({ err: error }, 'could not release the leases'))
    await this.db.serviceNode.deleteMany({ where: { id: this.node } }).catch(() => {})
  }

  /** Releases one session now (it is being deleted): the socket is closed when this resolves. */
  async giveUp(name: string): Promise<void> {
    await this.moving.get(name)
    if (this.owned.has(name)) await this.handOver(name)
  }

  private schedule(): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.runTick(), Math.max(100, Math.floor(this.options.ttlMs / 3)))
    this.timer.unref?.()
  }

  private runTick(): void {
    this.running = this.running
      .then(async () => {
        await this.tick() // its effects (sessions connecting or closing) go on without holding up the next tick
      })
      .catch((error: unknown) => {
        this.log.warn({ err: error }, 'could not reach the database to renew session ownership')
        this.fence()
      })
      .finally(() => this.schedule())
  }

  /** One look at the store; resolves after the decisions are taken, with a promise of their effects. */
  private async tick(): Promise<{ effects: Promise<void> }> {
    if (this.stopped) return { effects: Promise.resolve() }
    const now = new Date()
    const expiresAt = new Date(now.getTime() + this.options.ttlMs)
    const url = this.options.url()
    await this.db.serviceNode.upsert({ where: { id: this.node }, create: { id: this.node, url, seenAt: now }, update: { url, seenAt: now } })
    await this.db.lease.updateMany({ where: { owner: this.node }, data: { expiresAt } })
    this.renewedAt = now.getTime()
    const liveSince = new Date(now.getTime() - this.options.ttlMs)
    const [nodes, leases, names] = await Promise.all([
      this.db.serviceNode.findMany({ where: { seenAt: { gt: liveSince } }, select: { id: true, url: true } }),
      this.db.lease.findMany(),
      this.hooks.sessions(),
    ])
    // Rows of processes long gone (not heard of for ten lease lifetimes) are cleared by anyone.
    void this.db.serviceNode.deleteMany({ where: { seenAt: { lt: new Date(now.getTime() - 10 * this.options.ttlMs) } } }).catch(() => {})

    const urls = new Map(nodes.map((node) => [node.id, node.url]))
    const leaseOf = new Map(leases.map((lease) => [lease.name, lease]))
    const owners = new Map<string, Owner>()
    for (const lease of leases) {
      const url = urls.get(lease.owner)
      if (lease.expiresAt > now && url !== undefined) owners.set(lease.name, { node: lease.owner, url })
    }
    this.owners = owners

    const effects: Promise<void>[] = []
    // Leases it held and holds no more (it was too slow to renew and another process took over).
    for (const name of this.owned) {
      if (this.moving.has(name)) continue
      if (leaseOf.get(name)?.owner !== this.node) {
        this.log.error({ session: name }, 'lost the lease of a session to another process; stopping it here')
        effects.push(this.transition(name, async () => {
          this.owned.delete(name)
          await this.hooks.release(name)
        }))
      }
    }
    const assignment = assign(names, nodes.map((node) => node.id))
    for (const name of names) {
      if (this.moving.has(name)) continue
      const wanted = assignment.get(name)
      const lease = leaseOf.get(name)
      if (this.owned.has(name)) {
        if (wanted !== undefined && wanted !== this.node) effects.push(this.transition(name, () => this.handOver(name)))
        continue
      }
      if (wanted !== this.node) continue
      const free = !lease || lease.expiresAt <= now || lease.owner === this.node
      if (free) effects.push(this.transition(name, () => this.takeOver(name, now, expiresAt)))
    }
    return { effects: Promise.all(effects).then(() => {}) }
  }

  /**
   * The leases could not be renewed for most of their lifetime: another process may take the
   * sessions any moment, so their sockets close here first (two sockets on one device make
   * WhatsApp close both). They come back at the next tick that reaches the database.
   */
  private fence(): void {
    if (Date.now() - this.renewedAt < this.options.ttlMs * 0.8) return
    for (const name of this.owned) {
      if (this.moving.has(name)) continue
      this.log.error({ session: name }, 'session leases not renewed in time: closing the session here until the database answers')
      void this.transition(name, async () => {
        this.owned.delete(name)
        await this.hooks.release(name)
      })
    }
  }

  private transition(name: string, step: () => Promise<void>): Promise<void> {
    const run = step()
      .catch((error: unknown) => this.log.error({ err: error, session: name }, 'moving a session failed'))
      .finally(() => this.moving.delete(name))
    this.moving.set(name, run)
    return run
  }

  private async takeOver(name: string, now: Date, expiresAt: Date): Promise<void> {
    if (this.stopped || !(await this.acquireLease(name, now, expiresAt))) return
    this.owned.add(name)
    this.log.info({ session: name }, 'this process owns the session')
    await this.hooks.acquire(name)
  }

  /** Closes the session here, then frees its lease for the process that should own it. */
  private async handOver(name: string): Promise<void> {
    this.owned.delete(name)
    await this.hooks.release(name)
    await this.db.lease.deleteMany({ where: { name, owner: this.node } })
    this.log.info({ session: name }, 'session released')
  }

  /** Takes the lease if it is free, expired or already ours. */
  private async acquireLease(name: string, now: Date, expiresAt: Date): Promise<boolean> {
    const { count } = await this.db.lease.updateMany({
      where: { name, OR: [{ owner: this.node }, { expiresAt: { lte: now } }] },
      data: { owner: this.node, expiresAt },
    })
    if (count === 1) return true
    try {
      await this.db.lease.create({ data: { name, owner: this.node, expiresAt } })
      return true
    } catch {
      return false // another process holds it, and it is neither ours nor expired
    }
  }

  /**
   * SQLite: one process per file. A lease held by someone else that is renewed while we watch
   * belongs to a live process: refuse. One that expires belonged to a process that died: take it.
   */
  async claimStore(): Promise<void> {
    if (this.options.provider !== 'sqlite' || this.claimedStore) return
    this.claimedStore = true
    const deadline = Date.now() + this.options.ttlMs * 2
    for (;;) {
      const now = new Date()
      const expiresAt = new Date(now.getTime() + this.options.ttlMs)
      if (await this.acquireLease(SQLITE_PROCESS_LEASE, now, expiresAt)) return
      const holder = await this.db.lease.findUnique({ where: { name: SQLITE_PROCESS_LEASE } })
      await new Promise((resolve) => setTimeout(resolve, 100))
      const later = await this.db.lease.findUnique({ where: { name: SQLITE_PROCESS_LEASE } })
      if ((holder && later && later.expiresAt.getTime() !== holder.expiresAt.getTime()) || Date.now() > deadline) {
        throw new StoreInUse(
          `Another wsgo process (${later?.owner ?? holder?.owner ?? 'unknown'}) is using this SQLite database. SQLite serves one process; ` +
            'stop the other one, or use PostgreSQL (DATABASE_URL=postgresql://...) to run several processes.',
        )
      }
    }
  }
}

/**
 * Who should own each session: each in turn (by name) goes to the live process ranking highest for
 * it (rendezvous hashing) among those with fewer than their even share, so every process computes
 * the same answer from the same rows, the spread is even, and few sessions move when a process
 * joins or leaves.
 */
export function assign(sessions: string[], nodes: string[]): Map<string, string> {
  const result = new Map<string, string>()
  if (nodes.length === 0) return result
  const share = Math.ceil(sessions.length / nodes.length)
  const load = new Map(nodes.map((node) => [node, 0]))
  for (const session of [...sessions].sort()) {
    const ranked = [...nodes].sort((a, b) => score(session, b) - score(session, a) || (a < b ? -1 : 1))
    const node = ranked.find((candidate) => load.get(candidate)! < share)!
    load.set(node, load.get(node)! + 1)
    result.set(session, node)
  }
  return result
}

function score(session: string, node: string): number {
  return createHash('sha256').update(`${session}\n${node}`).digest().readUInt32BE(0)
}
