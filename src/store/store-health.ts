// The one place that knows whether the store works. Every failed statement is reported here (see
// observed-connection.ts); one that is a store fault (store-faults.ts) puts the store in the
// `degraded` state with its cause. While degraded, a probe (a small write and a read, through the
// same client) runs every `probeEveryMs` on a timer, so it never holds the event loop, and the
// first probe that succeeds puts the store back to `ok`: nothing needs a restart. On SQLite the file
// is also watched: a data directory removed under a running service would otherwise go unnoticed
// (the open connection keeps writing into the deleted file) until the next start found it empty.
import type { Logger } from '../logger.js'
import { faultMessage, storeFaultOf, type StoreFault } from './store-faults.js'

export type StoreState = { status: 'ok' } | { status: 'degraded'; fault: StoreFault; since: Date }

export interface StoreHealthOptions {
  /** A small write and a read back; rejects while the store is faulty. */
  probe(): Promise<void>
  /** Checks what statements cannot see (SQLite: the file is still the one opened); a fault if not. */
  check?(): Promise<StoreFault | undefined>
  /** Tries to end a fault before the next probe (SQLite: reopen the file, put a removed file back). */
  repair?(fault: StoreFault): Promise<void>
  probeEveryMs?: number
  checkEveryMs?: number
}

export class StoreHealth {
  private current: StoreState = { status: 'ok' }
  private log: Logger | undefined
  private probeTimer: NodeJS.Timeout | undefined
  private checkTimer: NodeJS.Timeout | undefined
  private probing = false
  private stopped = false
  private readonly listeners = new Set<(state: StoreState) => void>()
  private readonly probeEveryMs: number

  constructor(private readonly options: StoreHealthOptions) {
    this.probeEveryMs = options.probeEveryMs ?? 1_000
    if (options.check) {
      this.checkTimer = setInterval(() => void this.runCheck(), options.checkEveryMs ?? 2_000)
      this.checkTimer.unref?.()
    }
  }

  /** Where state changes are logged (the store is opened before the service's logger reaches it). */
  useLogger(logger: Logger): void {
    this.log = logger.child({ module: 'store' })
  }

  get state(): StoreState {
    return this.current
  }

  get ok(): boolean {
    return this.current.status === 'ok'
  }

  /** Called on every state change (degraded with a new cause, or ok again). */
  onChange(listener: (state: StoreState) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * Resolves once the store is ok (at once if it is); rejects with the signal's reason if `signal`
   * aborts first, so a start-up waiting for the store can still be stopped.
   */
  whenOk(signal?: AbortSignal): Promise<void> {
    if (this.ok) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        off()
        signal?.removeEventListener('abort', aborted)
      }
      const aborted = () => {
        done()
        reject(signal!.reason)
      }
      const off = this.onChange((state) => {
        if (state.status !== 'ok') return
        done()
        resolve()
      })
      if (signal?.aborted) return aborted()
      signal?.addEventListener('abort', aborted, { once: true })
    })
  }

  /** A statement failed: if the store itself is at fault, it is degraded from now on. */
  failed(error: unknown): void {
    const fault = storeFaultOf(error)
    if (fault) this.degrade(fault)
  }

  /** Marks the store degraded (or updates the cause) and starts probing. */
  degrade(fault: StoreFault): void {
    if (this.stopped) return
    const previous = this.current
    if (previous.status === 'degraded' && previous.fault.kind === fault.kind) return
    this.current = { status: 'degraded', fault, since: previous.status === 'degraded' ? previous.since : new Date() }
    this.log?.error({ cause: fault.kind, detail: fault.message }, `store degraded: ${fault.message}; retrying on its own`)
    this.emit()
    this.scheduleProbe(0)
  }

  /** Runs a probe now; resolves to whether the store is ok afterwards. */
  async probeNow(): Promise<boolean> {
    if (this.probing) return this.ok
    this.probing = true
    try {
      const fault = this.current.status === 'degraded' ? this.current.fault : undefined
      if (fault && this.options.repair) await this.options.repair(fault)
      const checked = await this.options.check?.()
      if (checked) {
        this.degrade(checked)
        return false
      }
      await this.options.probe()
      if (this.current.status === 'degraded') {
        const since = this.current.since
        this.current = { status: 'ok' }
        this.log?.warn({ degradedForMs: Date.now() - since.getTime() }, 'store works again')
        this.emit()
      }
      return true
    } catch (error) {
      const fault = storeFaultOf(error)
      // A probe failing for another reason than a known fault still means the store is not back.
      if (fault) this.degrade(fault)
      else if (this.current.status === 'ok') this.degrade({ kind: 'io', message: faultMessage('io', error instanceof Error ? error.message : String(error)) })
      return false
    } finally {
      this.probing = false
      if (this.current.status === 'degraded') this.scheduleProbe(this.probeEveryMs)
    }
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.probeTimer)
    clearInterval(this.checkTimer)
  }

  private scheduleProbe(delayMs: number): void {
    if (this.stopped) return
    clearTimeout(this.probeTimer)
    this.probeTimer = setTimeout(() => void this.probeNow(), delayMs)
    this.probeTimer.unref?.()
  }

  private async runCheck(): Promise<void> {
    if (this.probing || this.stopped || !this.options.check) return
    const fault = await this.options.check().catch(() => undefined)
    if (fault) this.degrade(fault)
  }

  private emit(): void {
    for (const listener of this.listeners) {
      try {
        listener(this.current)
      } catch (error) {
        this.log?.error({ err: error }, 'a store state listener failed')
      }
    }
  }
}
