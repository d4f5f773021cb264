// Which process owns which session when several processes share one database. Two live sockets on
// one auth state make WhatsApp close both with 440 ("replaced"), again and again, so each session
// has exactly one owner: the process holding its row in the Lease table, renewed every third of
// WA_LEASE_TTL_MS. No other infrastructure is needed than the database itself.
//
// Every process runs the same tick, every quarter of WA_LEASE_TTL_MS: it renews its own row in
// ServiceNode (the live processes and the URLs they are reached at), renews its leases, and computes from what it reads who should own
// each session: the sessions are spread evenly over the live processes, each going to the process
// that ranks highest for it by rendezvous hashing among those with room left, so a process joining
// or leaving moves few sessions. Then it acts on its own part only:
//   - a session it owns that belongs elsewhere now (a process joined): it closes the session's socket
//     first and releases the lease after, so the next owner never meets it on WhatsApp;
//   - a session that should be its own and whose lease is free (the owner released it) or expired
//     a short grace period ago (the owner died, or stalled and closes its socket meanwhile): it takes
//     the lease and connects;
//   - a lease it held that someone else now holds (it could not renew in time): it stops at once.
//
// SQLite serves one process: the first holds a lease on the file, and a second one that finds it
// renewed by a live process is refused (one killed a moment ago is waited for instead).
//
// A lease that cannot be renewed because the database fails (full, read-only, unreachable) is not a
// lease lost to another process, and is not reported as one. On SQLite nobody else can take the
// sessions, so they stay connected until the store works again. On PostgreSQL another process may
// take them once the lease expires, so they are closed at its expiry as before (fencing), and their
// status says the database is why (suspendedReason()).
import { createHash, randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Logger } from '../logger.js'
import type { Db } from '../store/database.js'
import { storeFaultOf } from '../store/store-faults.js'

/** Not a valid session name, so it cannot collide with one. */
const SQLITE_PROCESS_LEASE = '_sqlite-process'

export interface OwnershipHooks {
  /** The sessions that exist now (read from the store each tick; new ones are opened). */
  sessions(): Promise<string[]>
  /**
   * This process now owns `name`: connect it. `continued`: the lease was still this process's own
   * (it had closed the session because the lease could not be renewed, and nobody owned it since).
   */
  acquire(name: string, continued: boolean): Promise<void>
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
  private fenceTimer: NodeJS.Timeout | undefined
  /** When the earliest lease this process should take over becomes free (see schedule()). */
  private takeoverAt: number | undefined
  private readonly log: Logger
  /** Sessions closed here because their leases could not be renewed: why, for their status. */
  private readonly suspended = new Map<string, string>()
  /** The last renewal failure logged, so a store that stays down is logged once, not every tick. */
  private lastRenewalFailure: string | undefined
  /** How long past its expiry a lease that was not released waits before another process takes it. */
  private readonly graceMs: number

  constructor(
    private readonly db: Db,
    private readonly options: OwnershipOptions,
    private readonly hooks: OwnershipHooks,
  ) {
    this.log = options.logger.child({ module: 'ownership', node: this.node })
    this.graceMs = Math.min(Math.floor(options.ttlMs / 4), 1_500)
  }

  /**
   * Joins: registers this process, takes its share of the sessions and connects them. Resolves
   * once the sessions it took at first are started.
   */
  async start(): Promise<void> {
    await this.claimStore()
    const first = await this.tick()
    this.schedule()
    // Checked on its own timer: a tick stuck on a slow database must not keep sockets open past the lease.
    this.fenceTimer = setInterval(() => void this.fence(), Math.max(50, Math.floor(this.options.ttlMs / 5)))
    this.fenceTimer.unref?.()
    await first.effects
  }

  /** Whether this process owns `name` now. */
  owns(name: string): boolean {
    return this.owned.has(name)
  }

  /** The owner of `name` as of the last tick, if a live process owns it. */
  ownerOf(name: string): Owner | undefined {
    if (this.owned.has(name)) return { node: this.node, url: this.options.url() }
    const owner = this.owners.get(name)
    // A lease still in this process's name that it no longer acts on (it closed the session when
    // the lease could not be renewed) is nobody's: this process must not forward to itself.
    return owner?.node === this.node ? undefined : owner
  }

  /** Why this process closed `name` without another process taking it (the store failed), if it did. */
  suspendedReason(name: string): string | undefined {
    return this.owned.has(name) ? undefined : this.suspended.get(name)
  }

  /** The owner of `name` as the store says now (between ticks, e.g. while a session moves). */
  async currentOwner(name: string): Promise<Owner | undefined> {
    if (this.owned.has(name)) return this.ownerOf(name)
    const lease = await this.db.lease.findUnique({ where: { name } })
    if (!lease || lease.expiresAt <= new Date() || lease.owner === this.node) return undefined
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
    clearInterval(this.fenceTimer)
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

  /**
   * The next tick: a quarter of the lease time from now (leases are renewed that often, so a
   * renewal can fail or be late a few times and still be in time), or sooner when a lease this
   * process is to take over becomes free: a dead owner's sessions move as soon as they may.
   */
  private schedule(): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    const every = Math.max(100, Math.floor(this.options.ttlMs / 4))
    const wait = this.takeoverAt === undefined ? every : Math.min(every, Math.max(20, this.takeoverAt - Date.now()))
    this.timer = setTimeout(() => this.runTick(), wait)
    this.timer.unref?.()
  }

  private runTick(): void {
    this.running = this.running
      .then(async () => {
        await this.tick() // its effects (sessions connecting or closing) go on without holding up the next tick
      })
      .catch((error: unknown) => {
        const fault = storeFaultOf(error)
        const cause = fault?.message ?? (error instanceof Error ? error.message : String(error))
        if (cause !== this.lastRenewalFailure) {
          const keeps = this.options.provider === 'sqlite' ? ': the sessions stay connected (no other process can take them on SQLite)' : ''
          this.log.warn({ err: fault ? undefined : error, cause }, `could not renew session ownership: ${cause}${keeps}`)
        }
        this.lastRenewalFailure = cause
        void this.fence()
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
    if (this.lastRenewalFailure !== undefined) this.log.info('session ownership renewed again')
    this.lastRenewalFailure = undefined
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
      const holder = leaseOf.get(name)?.owner
      if (holder !== this.node) {
        this.log.error({ session: name, holder: holder ?? null }, holder ? `lost the lease of a session to another process (${holder}); stopping it here` : 'the lease of a session is gone from the database; stopping it here')
        effects.push(this.transition(name, async () => {
          this.owned.delete(name)
          await this.hooks.release(name)
        }))
      }
    }
    this.takeoverAt = undefined
    const current = new Map([...owners].map(([name, owner]) => [name, owner.node]))
    for (const name of this.owned) current.set(name, this.node)
    const assignment = assign(names, nodes.map((node) => node.id), current)
    for (const name of names) {
      if (this.moving.has(name)) continue
      const wanted = assignment.get(name)
      const lease = leaseOf.get(name)
      if (this.owned.has(name)) {
        if (wanted !== undefined && wanted !== this.node) effects.push(this.transition(name, () => this.handOver(name)))
        continue
      }
      if (wanted !== this.node) continue
      // A released lease is free at once; an expired one after a grace period, which the late
      // owner (alive but too slow to renew, e.g. a stalled event loop) spends closing its socket.
      const free = !lease || lease.owner === this.node || lease.expiresAt.getTime() + this.graceMs <= now.getTime()
      if (free) effects.push(this.transition(name, () => this.takeOver(name, now, expiresAt)))
      else this.takeoverAt = Math.min(this.takeoverAt ?? Infinity, lease.expiresAt.getTime() + this.graceMs)
    }
    return { effects: Promise.all(effects).then(() => {}) }
  }

  /**
   * The leases could not be renewed for most of their lifetime: another process may take the
   * sessions any moment, so their sockets close here first (two sockets on one device make
   * WhatsApp close both). They come back at the next tick that reaches the database.
   */
  private fencing = false

  private async fence(): Promise<void> {
    if (this.fencing || this.owned.size === 0 || Date.now() - this.renewedAt < this.options.ttlMs) return
    // SQLite: the file's process lease keeps every other process out, so a late renewal loses
    // nothing to anyone; closing WhatsApp would only add an outage to the store's.
    if (this.options.provider === 'sqlite') return
    this.fencing = true
    try {
      // Late is not lost: a stalled event loop (Baileys generating pre-keys at a pairing blocks it
      // for a second or so) comes back here with the database reachable. A lease nobody took yet is
      // renewed; one another process took after the grace period is found lost by the next tick.
      const now = Date.now()
      await this.db.lease.updateMany({ where: { owner: this.node }, data: { expiresAt: new Date(now + this.options.ttlMs) } })
      this.renewedAt = now
      const held = new Set((await this.db.lease.findMany({ where: { owner: this.node }, select: { name: true } })).map((lease) => lease.name))
      for (const name of this.owned) {
        if (held.has(name) || this.moving.has(name)) continue
        this.log.error({ session: name }, 'lost the lease of a session to another process; stopping it here')
        void this.transition(name, async () => {
          this.owned.delete(name)
          await this.hooks.release(name)
        })
      }
    } catch (error) {
      const cause = storeFaultOf(error)?.message ?? (error instanceof Error ? error.message : String(error))
      const reason = `the database is unavailable (${cause}): the session's lease could not be renewed, so this process closed it until the database answers`
      for (const name of this.owned) {
        if (this.moving.has(name)) continue
        this.log.error({ session: name, cause }, `session lease not renewed in time because ${cause}: closing the session here until the database answers`)
        this.suspended.set(name, reason)
        this.owners.delete(name)
        void this.transition(name, async () => {
          this.owned.delete(name)
          await this.hooks.release(name)
        })
      }
    } finally {
      this.fencing = false
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
    if (this.stopped) return
    const lease = await this.acquireLease(name, new Date(now.getTime() - this.graceMs), expiresAt)
    if (!lease) return
    this.owned.add(name)
    this.suspended.delete(name)
    this.log.info({ session: name }, 'this process owns the session')
    await this.hooks.acquire(name, lease === 'still ours')
  }

  /** Closes the session here, then frees its lease for the process that should own it. */
  private async handOver(name: string): Promise<void> {
    this.owned.delete(name)
    await this.hooks.release(name)
    await this.db.lease.deleteMany({ where: { name, owner: this.node } })
    this.log.info({ session: name }, 'session released')
  }

  /**
   * Takes the lease if it is ours, free, or expired by `expiredBy`: 'still ours' when it was this
   * process's all along (nobody else held it since), 'taken' otherwise, undefined when it could not.
   */
  private async acquireLease(name: string, expiredBy: Date, expiresAt: Date): Promise<'still ours' | 'taken' | undefined> {
    // Only this process writes rows in its own name, and another takes one over by changing it.
    const ours = await this.db.lease.updateMany({ where: { name, owner: this.node }, data: { expiresAt } })
    if (ours.count === 1) return 'still ours'
    const expired = await this.db.lease.updateMany({ where: { name, expiresAt: { lte: expiredBy } }, data: { owner: this.node, expiresAt } })
    if (expired.count === 1) return 'taken'
    try {
      await this.db.lease.create({ data: { name, owner: this.node, expiresAt } })
      return 'taken'
    } catch {
      return undefined // another process holds it, and it is neither ours nor expired
    }
  }

  /**
   * SQLite: one process per file. A lease held by someone else that is renewed while we watch
   * belongs to a live process: refuse. One that expires belonged to a process that died: take it.
   */
  async claimStore(): Promise<void> {
    if (this.options.provider !== 'sqlite' || this.claimedStore) return
    const deadline = Date.now() + this.options.ttlMs * 2
    for (;;) {
      const now = new Date()
      const expiresAt = new Date(now.getTime() + this.options.ttlMs)
      // Only a claim that succeeded counts: one that failed on a read-only store is made again once it works.
      if ((await this.acquireLease(SQLITE_PROCESS_LEASE, now, expiresAt)) !== undefined) return void (this.claimedStore = true)
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
 * Who should own each session, given who owns it now. Every process computes the same answer from
 * the same rows. The spread is even (process loads differ by one at most), and as few sessions move
 * as that allows: a session stays with its live owner while the owner is within its share, and the
 * others go, each in turn by name, to the process ranking highest for it by rendezvous hashing
 * among those with room. So creating a session moves nothing else, and a process joining or leaving
 * moves about its own share.
 */
export function assign(sessions: string[], nodes: string[], current: ReadonlyMap<string, string> = new Map()): Map<string, string> {
  const result = new Map<string, string>()
  if (nodes.length === 0) return result
  const base = Math.floor(sessions.length / nodes.length)
  let larger = sessions.length % nodes.length // how many processes may hold base + 1
  const load = new Map(nodes.map((node) => [node, 0]))
  const hasRoom = (node: string) => load.get(node)! < base || (load.get(node)! === base && larger > 0)
  const place = (session: string, node: string) => {
    if (load.get(node)! === base) larger--
    load.set(node, load.get(node)! + 1)
    result.set(session, node)
  }
  const sorted = [...sessions].sort()
  for (const session of sorted) {
    const owner = current.get(session)
    if (owner !== undefined && load.has(owner) && hasRoom(owner)) place(session, owner)
  }
  for (const session of sorted) {
    if (result.has(session)) continue
    const ranked = [...nodes].sort((a, b) => score(session, b) - score(session, a) || (a < b ? -1 : 1))
    place(session, ranked.find(hasRoom)!)
  }
  return result
}

function score(session: string, node: string): number {
  return createHash('sha256').update(`${session}\n${node}`).digest().readUInt32BE(0)
}
