// Who owns the WhatsApp connection when several processes share one database. Two live sockets on
// one auth state make WhatsApp close both with 440 ("replaced"), again and again. The owner holds a
// lease row it renews; the others serve the API, stay off WhatsApp, and take over once the lease
// expires (the owner died) or is released (the owner stopped).
import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import type { Db } from '../store/database.js'
import type { Logger } from '../logger.js'

const LEASE = 'whatsapp-connection'

export class ConnectionLease {
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`

  constructor(
    private readonly db: Db,
    readonly ttlMs: number,
  ) {}

  /** Takes the lease if it is free, expired or already ours; renews it if ours. */
  async acquire(): Promise<boolean> {
    const now = new Date()
    const expiresAt = new Date(now.getTime() + this.ttlMs)
    const { count } = await this.db.lease.updateMany({
      where: { name: LEASE, OR: [{ owner: this.owner }, { expiresAt: { lt: now } }] },
      data: { owner: this.owner, expiresAt },
    })
    if (count === 1) return true
    try {
      await this.db.lease.create({ data: { name: LEASE, owner: this.owner, expiresAt } })
      return true
    } catch {
      // Someone else holds it (the row exists and is not ours, nor expired).
      return false
    }
  }

  async release(): Promise<void> {
    await this.db.lease.deleteMany({ where: { name: LEASE, owner: this.owner } })
  }

  async holder(): Promise<{ owner: string; expiresAt: Date } | null> {
    return this.db.lease.findUnique({ where: { name: LEASE }, select: { owner: true, expiresAt: true } })
  }
}

export interface LeaseHolder {
  /** Called when this process becomes the owner. */
  onAcquired(): Promise<void>
  /** Called when this process is (or stays) on standby, with the current holder. */
  onStandby(holder: string | undefined): Promise<void>
}

export interface HeldLease {
  /** Settles after the first attempt (owner or standby is decided). */
  ready: Promise<void>
  /** Stops renewing and trying (call before closing the connection). */
  halt(): Promise<void>
  /** Gives the lease up, so a standby process takes over at once (call after closing the connection). */
  release(): Promise<void>
}

/**
 * Keeps trying to own the lease and renews it while owned: every third of its lifetime, so a
 * renewal can fail once and still be in time.
 */
export function holdLease(lease: ConnectionLease, holder: LeaseHolder, logger: Logger): HeldLease {
  let owned = false
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()

  const tick = async () => {
    if (stopped) return
    let acquired = false
    try {
      acquired = await lease.acquire()
    } catch (error) {
      logger.warn({ err: error }, 'could not reach the database to renew the connection lease')
    }
    if (acquired && !owned) {
      owned = true
      logger.info({ owner: lease.owner }, 'this process owns the WhatsApp connection')
      await holder.onAcquired()
    } else if (!acquired && owned) {
      owned = false
      logger.error({ owner: lease.owner }, 'lost the WhatsApp connection lease: another process took over; going on standby')
      await holder.onStandby((await lease.holder().catch(() => null))?.owner)
    } else if (!acquired && !owned) {
      await holder.onStandby((await lease.holder().catch(() => null))?.owner)
    }
  }
  const schedule = () => {
    if (stopped) return
    timer = setTimeout(() => {
      running = tick().finally(schedule)
    }, Math.max(100, Math.floor(lease.ttlMs / 3)))
    timer.unref?.()
  }
  const ready = tick().finally(schedule)
  running = ready
  return {
    ready,
    async halt() {
      stopped = true
      clearTimeout(timer)
      await running.catch(() => {})
    },
    async release() {
      if (owned) await lease.release().catch((error) => logger.warn({ err: error }, 'could not release the connection lease'))
      owned = false
    },
  }
}
