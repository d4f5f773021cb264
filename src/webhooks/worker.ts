// The delivery worker of one webhook (a session has one per webhook, session-webhooks.ts): moves
// that webhook's outbox rows (written by src/events/log.ts with their event) to its receiver; a
// receiver that is down holds only its own rows. It claims rows in `seq` order with an atomic pending -> delivering update, sends them
// (deliver.ts) with up to `concurrency` in flight, and settles each: delivered, retried later
// (backoff.ts), or given up and reported as a `webhook_failed` event.
//
// Two modes. Normal: every due row is sent, several at once. Backoff, entered on any failed attempt:
// nothing new is sent; only the oldest pending row is tried (the probe), alone, at its own next
// attempt time. When a probe succeeds every pending row becomes due again and normal mode resumes,
// so after an outage the backlog arrives oldest first and a down receiver sees one request per
// backoff step instead of the whole backlog. A 429 or 503 with Retry-After puts the next attempt
// no sooner than it asks (at most retryMaxMs); a timeout is a failure like any other.
//
// Giving up (maxAgeMs) never happens to a delivery that was not tried: only its own failed attempt
// past the deadline gives a row up (its last retry is set at the deadline), and the housekeeping
// sweep gives up only rows tried at least once. A row that waited behind a failing probe (a poison
// delivery, an outage) gets its attempt when the probe is given up, since it is then the oldest
// pending row and due: if it succeeds the backlog resumes, if it fails past its own deadline it is
// given up with that one attempt. The cost: after an outage longer than maxAgeMs the aged backlog
// is tried one row at a time before it is dropped.
//
// A poison delivery does not hold the queue for long: an answer that refuses it for good (a 4xx
// other than 408, 409, 410, 425 and 429: deliver.ts isRefusal) `deadAfterAttempts` times makes it
// `dead`, kept with the receiver's status and answer, and the rows behind it go on. Anything else
// (5xx, timeouts, a receiver down) keeps the order and waits, up to maxAgeMs. A dead or failed
// delivery goes back in line, same id, same place in the order, through redeliver (outbox.ts).
//
// A 410 Gone turns the webhook off but is not a clear: the refused row and the backlog stay pending
// (and are not aged out) until a URL is set, which sends them, oldest first. Events recorded while
// the webhook is off are not queued at all (there is no receiver to filter for). Clearing the URL
// through the API gives up what is pending.
//
// The fast path: while the worker is idle enough (normal mode, room in the ready line, nothing due
// left unclaimed), EventLog.record writes a new row already claimed and hands it over after the
// commit (handover()), so an incoming event goes out without a statement of the worker's in between.
//
// The ready line: claimed rows waiting for a delivery slot, oldest first, at most `readyAhead`.
// Handed-over rows wait there when every slot is busy, and a claim takes as many due rows as the
// free slots and the line have room for, so a burst costs a statement per line's worth of rows, not
// one per delivery (issue 18, storm budget). A slot that frees up takes the line's oldest row at
// once. The line is for normal mode only: leaving it (a failed attempt, the URL cleared, a stop)
// puts the line's rows back to pending before anything else is claimed, so the probe is the oldest
// pending row and nothing waits claimed in a worker that no longer sends. A process that dies with
// rows in the line leaves them 'delivering', and start() makes them pending again, like in-flight ones.
//
// Wake-ups: notify() (a new pending row committed), the end of a delivery when rows may be waiting
// for its slot or in backoff, a change of the webhook URL, and a timer set to the next retry time,
// never longer than `pollMs` (which also picks up rows another process wrote). Rows left
// 'delivering' by a process that died are pending again at start(): delivery is at least once,
// with the same X-Wsgo-Delivery id.
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Config } from '../config.js'
import type { EventLog, Handover, OutboxTarget } from '../events/log.js'
import type { Logger } from '../logger.js'
import { retryDelay } from '../backoff.js'
import { attemptDelivery, type AttemptResult } from './deliver.js'
import { targetOf, type WebhookSettings } from './settings.js'
import type { ClaimedRow, Outbox } from './outbox.js'

/** One settled attempt, for whoever measures deliveries (metrics): plain data, heard synchronously. */
export interface AttemptOutcome {
  session: string
  event: string
  /**
   * delivered; retry (failed, tried again later); dead (refused for good); failed (given up: too
   * old); gone (410, webhook turned off); aborted (the worker stopped: not counted as an attempt).
   */
  outcome: 'delivered' | 'retry' | 'dead' | 'failed' | 'gone' | 'aborted'
  /** The answer's status, null after a network error or a timeout (or when aborted). */
  status: number | null
  /** '2xx', '3xx', '4xx', '5xx', or 'error' (no answer). */
  statusClass: '2xx' | '3xx' | '4xx' | '5xx' | 'error'
  /** The attempt's duration. */
  ms: number
  /** From the delivery's queueing (its event, or its redeliver) to this answer. */
  sinceQueuedMs: number
}

type Row = ClaimedRow

const DAY = 24 * 60 * 60_000

export interface WorkerOptions {
  /** Per-attempt timeout (WEBHOOK_TIMEOUT_MS). */
  timeoutMs: number
  /** Deliveries in flight at once in normal mode (WEBHOOK_CONCURRENCY). */
  concurrency: number
  /** Claimed rows that may wait for a slot (the ready line). Default 4 x concurrency. */
  readyAhead?: number
  /** First retry delay, doubled per failure (WEBHOOK_RETRY_MIN_MS) ... */
  retryMinMs: number
  /** ... up to this (WEBHOOK_RETRY_MAX_MS). */
  retryMaxMs: number
  /** A delivery not done this long after its event is given up (WEBHOOK_MAX_AGE_MS). */
  maxAgeMs: number
  /** A delivery refused for good (isRefusal) this many times in a row is dead. Default 3. */
  deadAfterAttempts?: number
  /** Longest sleep between two looks at the outbox. Default 1 s. */
  pollMs?: number
  /** How often expired deliveries are given up and old rows pruned. Default 60 s. */
  housekeepingMs?: number
  /** How long stop() lets in-flight deliveries finish before aborting them. Default 5 s. */
  stopGraceMs?: number
  /** Delivered rows are kept this long (default 7 days) and at most this many (default 10,000). */
  keepDeliveredMs?: number
  keepDelivered?: number
  /** Failed and dead rows, the record of what was lost: 30 days, 10,000 each by default. */
  keepFailedMs?: number
  keepFailed?: number
  /** Random source for the jitter (tests). */
  random?: () => number
}

export function workerOptionsFrom(config: Config): WorkerOptions {
  return {
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    concurrency: config.WEBHOOK_CONCURRENCY,
    retryMinMs: config.WEBHOOK_RETRY_MIN_MS,
    retryMaxMs: config.WEBHOOK_RETRY_MAX_MS,
    maxAgeMs: config.WEBHOOK_MAX_AGE_MS,
  }
}

interface InFlight {
  controller: AbortController
  done: Promise<void>
}

export class WebhookWorker implements OutboxTarget {
  private readonly options: Required<WorkerOptions>
  private readonly logger: Logger
  private readonly inFlight = new Map<number, InFlight>()
  /** Every delivery whose outcome is not written yet, in flight or not (stop() waits for them). */
  private readonly unsettled = new Set<Promise<void>>()
  /** Claimed rows waiting for a delivery slot, by seq: the ready line (see the header). */
  private ready: Row[] = []
  private backoff = false
  /** The seq of the delivery sent alone in backoff mode: only its success ends the backoff. */
  private probe: number | undefined
  private started = false
  private stopping: Promise<void> | undefined
  private pumping: Promise<void> | undefined
  private again = false
  /**
   * Due rows may be waiting that no claim took yet (the last claim was full, or rows were put back
   * to pending): a delivery that settles looks at the outbox again. Otherwise only a notify, a URL
   * change or the timer does, which spares a statement per delivery.
   */
  private mayHaveMore = true
  /** Rows EventLog.record is writing claimed, for this worker: each holds a delivery slot. */
  private handingOver = 0
  /** Rows it is writing pending: until they commit (and notify), a claim could miss them. */
  private writingPending = 0
  /** Counts starts, so that a row handed over across a stop and start is not trusted. */
  private generation = 0
  private wakeTimer: NodeJS.Timeout | undefined
  private housekeepingTimer: NodeJS.Timeout | undefined
  private housekeepingRun: Promise<void> | undefined
  private unsubscribe: (() => void) | undefined
  private readonly attemptListeners = new Set<(outcome: AttemptOutcome) => void>()

  constructor(
    private readonly outbox: Outbox,
    private readonly settings: WebhookSettings,
    private readonly events: EventLog,
    logger: Logger,
    options: WorkerOptions,
  ) {
    this.logger = logger.child({ component: 'webhooks', session: outbox.session, webhook: settings.id })
    this.options = {
      pollMs: 1_000,
      housekeepingMs: 60_000,
      stopGraceMs: 5_000,
      keepDeliveredMs: 7 * DAY,
      keepDelivered: 10_000,
      keepFailedMs: 30 * DAY,
      keepFailed: 10_000,
      deadAfterAttempts: 3,
      random: Math.random,
      readyAhead: 4 * options.concurrency,
      ...options,
    }
  }

  /** The webhook's id (its rows carry it). */
  get webhook(): string {
    return this.settings.id
  }

  /** Whether only the oldest pending delivery is being tried (the receiver failed its last attempt). */
  get backingOff(): boolean {
    return this.backoff
  }

  /** Hears every settled attempt (metrics); returns the unsubscribe. */
  onAttempt(listener: (outcome: AttemptOutcome) => void): () => void {
    this.attemptListeners.add(listener)
    return () => this.attemptListeners.delete(listener)
  }

  /**
   * Deliveries were put back in line (redeliver): they may be due before anything the worker
   * knows of, and older than what it would hand over.
   */
  redelivered(): void {
    this.mayHaveMore = true
    this.notify()
  }

  /** Starts delivering; may be called again after stop() (e.g. when this process becomes the lease holder). */
  async start(): Promise<void> {
    if (this.started && !this.stopping) return
    await this.stopping
    this.stopping = undefined
    this.mayHaveMore = true
    this.generation++
    // A previous process died mid-delivery: those rows go out again, with the same delivery id.
    const interrupted = await this.outbox.requeueInterrupted()
    if (interrupted > 0) this.logger.info({ count: interrupted }, 'webhook deliveries interrupted by a restart will be sent again')
    // Restarted during an outage: keep probing with one delivery rather than sending the whole backlog.
    this.backoff = await this.outbox.isRetrying()
    this.unsubscribe = this.settings.onChange((next, previous) => {
      // `gone` and `enabled` too: a clear after a 410 or a pause leaves the target null but now
      // drops the kept backlog.
      if (targetOf(next) !== targetOf(previous) || next.gone !== previous.gone || next.enabled !== previous.enabled) void this.urlChanged(targetOf(next))
    })
    this.started = true
    await this.runHousekeeping()
    this.housekeepingTimer = setInterval(() => void this.runHousekeeping(), this.options.housekeepingMs).unref()
    this.notify()
  }

  /** Something may be due: look at the outbox now (cheap to call; calls coalesce). */
  notify(): void {
    if (!this.started || this.stopping) return
    void this.pump()
  }

  /**
   * Asked by EventLog.record before it writes an outbox row. The row is written claimed and sent
   * (or put in the ready line) as soon as it commits, without a statement of the worker's, only
   * when that keeps the order: in normal mode, with room in the line, nothing due left unclaimed, no
   * claim running and no other row being written pending (which would be older). Otherwise it is
   * written pending and claimed.
   */
  handover(): Handover {
    const direct =
      this.started &&
      !this.stopping &&
      !this.backoff &&
      !this.mayHaveMore &&
      !this.pumping &&
      this.writingPending === 0 &&
      this.room() > 0
    if (direct) this.handingOver++
    else this.writingPending++
    const generation = this.generation
    let open = true
    const close = () => {
      if (!open) return false
      open = false
      if (direct) this.handingOver--
      else this.writingPending--
      return true
    }
    return {
      claimed: direct,
      committed: (row) => {
        if (!close()) return
        if (direct) this.takeOver(row, generation)
        else this.notify()
      },
      abandoned: () => void close(),
    }
  }

  /** How many more rows may be claimed: free slots and room in the ready line. */
  private room(): number {
    return this.options.concurrency + this.options.readyAhead - this.inFlight.size - this.handingOver - this.ready.length
  }

  /**
   * A row written claimed: sent now or put in the ready line, or put back to pending if the worker
   * changed mode meanwhile.
   */
  private takeOver(row: Row, generation: number): void {
    const url = this.settings.target
    if (generation === this.generation && this.started && !this.stopping && !this.backoff && url !== null) {
      this.ready.push(row)
      return this.launchReady(url)
    }
    this.mayHaveMore = true
    // Pending again for the next claim (or start): never left 'delivering' by a running worker.
    this.unclaim([row]).then(
      () => this.notify(),
      (error: unknown) => this.logger.error({ err: error, deliveryId: row.id }, 'could not queue a webhook delivery again; it will be sent after a restart'),
    )
  }

  /**
   * Stops claiming, lets in-flight deliveries finish for up to `stopGraceMs`, then aborts the rest,
   * which stay pending (not counted as attempts) for the next start.
   */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      this.started = false
      clearTimeout(this.wakeTimer)
      clearInterval(this.housekeepingTimer)
      this.unsubscribe?.()
      await this.pumping
      await this.housekeepingRun
      // In flight, or answered and being written: each delivery launched and not settled yet.
      const pending = () => Promise.all([...this.unsettled])
      let timer: NodeJS.Timeout | undefined
      const graceful = await Promise.race([
        pending().then(() => true),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.options.stopGraceMs))),
      ])
      clearTimeout(timer)
      if (!graceful) {
        this.logger.info({ count: this.inFlight.size }, 'stopping: aborting webhook deliveries still in flight (they stay pending)')
        for (const delivery of this.inFlight.values()) delivery.controller.abort()
        await pending()
      }
      // Left 'delivering' if this fails: the next start() makes them pending again.
      await this.returnReady().catch((error: unknown) => this.logger.error({ err: error }, 'could not put waiting webhook deliveries back in line; they are sent after a restart'))
    })())
  }

  private pump(): Promise<void> {
    if (this.pumping) {
      this.again = true
      return this.pumping
    }
    this.pumping = (async () => {
      try {
        do {
          this.again = false
          await this.fill()
          // More is due behind a full claim: HTTP, timers and the deliveries' answers get a turn of
          // the event loop before the next claim (issue 18 #2).
          if (this.again) await nextTurn()
        } while (this.again && !this.stopping)
      } catch (error) {
        this.logger.error({ err: error }, 'webhook worker could not read the outbox; trying again shortly')
        this.sleep(this.options.pollMs)
      } finally {
        this.pumping = undefined
      }
    })()
    return this.pumping
  }

  /** Claims and launches what may be sent now, then sets the timer for the next look. */
  private async fill(): Promise<void> {
    if (this.stopping) return
    const url = this.settings.target
    // Out of normal mode, the ready line's rows are pending again before anything else is claimed.
    if (this.ready.length > 0 && (this.backoff || url === null)) await this.returnReady()
    if (url === null) {
      // Nothing is recorded for the webhook until a URL is set again (or it is on again), which notifies.
      clearTimeout(this.wakeTimer)
      // Cleared through the API, what waits is given up; turned off by a 410 or paused, it waits.
      return this.settings.holding ? undefined : this.dropPending()
    }
    return this.backoff ? this.claimProbe(url) : this.claimDue(url)
  }

  /**
   * Normal mode: claims the oldest due rows, as many as the free slots and the ready line have room
   * for, and sends what the slots take.
   */
  private async claimDue(url: string): Promise<void> {
    const room = this.room()
    if (room <= 0) {
      this.mayHaveMore = true // a slot frees up when a delivery is answered, and that pumps again
      return
    }
    // Only once the line is down to half: a claim per half-line of rows rather than per freed slot.
    if (this.ready.length > this.options.readyAhead / 2) {
      this.mayHaveMore = true
      return
    }
    const claimed = await this.outbox.claimDue(new Date(), room)
    if (this.stopping) return this.unclaim(claimed)
    // Rows put back in line (redeliver, a mode change) can be older than the line's: order by seq.
    this.ready = [...this.ready, ...claimed].sort((a, b) => a.seq - b.seq)
    this.launchReady(url)
    // A full batch may have more behind it; otherwise nothing else is due until a notify or the timer.
    this.mayHaveMore = claimed.length === room
    if (this.mayHaveMore && this.room() > 0) this.again = true
    else if (!this.mayHaveMore) this.sleep(this.options.pollMs)
  }

  /** Sends the ready line's oldest rows while there are free slots. */
  private launchReady(url: string): void {
    while (this.ready.length > 0 && this.inFlight.size < this.options.concurrency) this.launch(this.ready.shift()!, url)
  }

  /** The ready line's rows are pending again (leaving normal mode, or stopping). */
  private async returnReady(): Promise<void> {
    const rows = this.ready
    this.ready = []
    if (rows.length === 0) return
    this.mayHaveMore = true
    await this.unclaim(rows)
  }

  /** Backoff: the oldest pending row alone, once it is due and what was sent before it has settled. */
  private async claimProbe(url: string): Promise<void> {
    if (this.inFlight.size > 0) return
    const head = await this.outbox.head()
    if (!head) return this.sleep(this.options.pollMs)
    const wait = head.nextAttemptAt.getTime() - Date.now()
    if (wait > 0) return this.sleep(wait)
    // Atomic claim: a row another pump (or process) took meanwhile is simply not returned.
    const probe = await this.outbox.claimOne(head.seq)
    if (this.stopping) return this.unclaim(probe ? [probe] : [])
    this.probe = probe?.seq
    if (probe) this.launch(probe, url)
    this.sleep(this.options.pollMs)
  }

  /** Claimed as the worker was stopping: back to pending, for the next start. */
  private async unclaim(rows: Row[]): Promise<void> {
    await this.outbox.unclaim(rows.map((row) => row.seq))
  }

  private launch(row: Row, url: string): void {
    const controller = new AbortController()
    let freed = false
    const freeSlot = () => {
      if (freed) return
      freed = true
      this.inFlight.delete(row.seq)
      // In normal mode the freed slot takes the ready line's oldest row, without a statement.
      const next = this.settings.target
      if (!this.backoff && !this.stopping && this.started && next !== null) this.launchReady(next)
      // In backoff, the next probe waits for this one (and the line goes back to pending); in
      // normal mode, the outbox is read again only if rows wait there and the line has room.
      if (this.backoff || this.mayHaveMore || (this.ready.length > 0 && next === null)) this.notify()
    }
    const done = this.deliver(row, url, controller.signal, freeSlot)
      .catch(async (error: unknown) => {
        this.logger.error({ err: error, deliveryId: row.id }, 'could not record the outcome of a webhook delivery; it will be sent again')
        // Not left 'delivering' until the next start: pending again, it goes out once more (at least once).
        await this.outbox.unclaim([row.seq]).catch(() => {})
        this.mayHaveMore = true
        if (freed) this.notify()
      })
      .finally(freeSlot)
    this.inFlight.set(row.seq, { controller, done })
    this.unsettled.add(done)
    void done.finally(() => this.unsettled.delete(done))
  }

  /**
   * One attempt and its outcome written. A delivery the receiver took frees its slot as soon as
   * the answer is in, not once "delivered" is written (a turn of the event loop or more under load,
   * which made the slots, not the receiver, the limit of a burst): `freeSlot` is called then. The
   * write still completes before stop() returns; if it fails the row goes out again (at least once).
   * Anything else keeps its slot until written: the next probe must see the failure's retry time.
   */
  private async deliver(row: Row, url: string, signal: AbortSignal, freeSlot: () => void): Promise<void> {
    const started = performance.now()
    const result = await attemptDelivery({
      url,
      deliveryId: row.id,
      event: row.event,
      payload: row.payload,
      secret: this.settings.secret,
      timeoutMs: this.options.timeoutMs,
      signal,
    })
    // The mode changes before anything awaits, so no pump in between claims by the old mode (nor
    // sends more to a receiver that answered 410 while the URL is being turned off).
    if (result.outcome === 'failed' || result.outcome === 'gone') this.backoff = true
    if (result.outcome === 'delivered' && this.probe !== row.seq) freeSlot()
    const ms = Math.round(performance.now() - started)
    const outcome = await this.settle(row, url, result, ms)
    this.tell(row, result, outcome, ms)
  }

  private tell(row: Row, result: AttemptResult, outcome: AttemptOutcome['outcome'], ms: number): void {
    if (this.attemptListeners.size === 0) return
    const status = 'status' in result ? result.status : null
    const statusClass = status === null ? 'error' : (`${Math.min(5, Math.max(2, Math.floor(status / 100)))}xx` as AttemptOutcome['statusClass'])
    const told: AttemptOutcome = { session: this.outbox.session, event: row.event, outcome, status, statusClass, ms, sinceQueuedMs: Date.now() - row.createdAt.getTime() }
    for (const listener of this.attemptListeners) {
      try {
        listener(told)
      } catch (error) {
        this.logger.error({ err: error }, 'a webhook attempt listener failed')
      }
    }
  }

  private async settle(row: Row, url: string, result: AttemptResult, ms: number): Promise<AttemptOutcome['outcome']> {
    const attempts = row.attempts + 1
    const log = { deliveryId: row.id, event: row.event, attempts, ms }
    switch (result.outcome) {
      case 'delivered': {
        await this.outbox.markDelivered(row.seq, attempts, result.status, new Date())
        this.logger.debug({ ...log, status: result.status }, 'webhook delivered')
        if (this.backoff && this.probe === row.seq) {
          // The probe got through, so the receiver is back: everything waiting is due now, oldest first.
          await this.makePendingDue()
          this.backoff = false
          this.logger.info({ deliveryId: row.id }, 'webhook receiver answers again: resuming normal delivery')
        }
        return 'delivered'
      }
      case 'aborted': {
        await this.outbox.unclaim([row.seq])
        return 'aborted'
      }
      case 'gone': {
        // The receiver refused the endpoint, not this event: the row stays the oldest pending one,
        // first for the next URL.
        await this.outbox.retryLater(row.seq, new Date(), { attempts, lastStatus: result.status, lastError: result.error })
        // Only if nobody set another URL while this attempt was out.
        await this.settings.turnOffAfterGone(url)
        this.logger.warn({ ...log, receiver: originOf(url) }, 'webhook receiver answered 410 Gone: webhook turned off; pending deliveries wait for a new URL')
        return 'gone'
      }
      case 'failed': {
        const now = Date.now()
        const deadline = row.createdAt.getTime() + this.options.maxAgeMs
        const failure = { attempts, lastStatus: result.status, lastError: result.error }
        if (result.refused && attempts >= this.options.deadAfterAttempts) {
          // The receiver will never take this one: set aside, and the next oldest is tried now (in
          // backoff it is the next probe, due since its event).
          await this.outbox.markDead(row.seq, failure)
          this.logger.error({ ...log, error: result.error }, 'webhook delivery refused for good: dead (POST /api/webhook/deliveries/{id}/redeliver sends it again)')
          await this.reportFailure(row, attempts, result.error)
          return 'dead'
        }
        if (now >= deadline) {
          await this.outbox.markFailed(row.seq, failure)
          this.logger.error({ ...log, error: result.error }, 'webhook delivery given up')
          await this.reportFailure(row, attempts, result.error)
          return 'failed'
        }
        const delay = retryDelay(attempts, { minMs: this.options.retryMinMs, maxMs: this.options.retryMaxMs }, this.options.random)
        // The last try happens at the deadline rather than never; but not sooner than the receiver
        // asked (capped like the backoff), even past the deadline: that try is then the last.
        const asked = Math.min(result.retryAfterMs ?? 0, this.options.retryMaxMs)
        const nextAttemptAt = new Date(Math.max(Math.min(now + delay, deadline), now + asked))
        await this.outbox.retryLater(row.seq, nextAttemptAt, failure)
        this.logger.warn({ ...log, error: result.error, retryInMs: nextAttemptAt.getTime() - now }, 'webhook delivery failed; backing off')
        return 'retry'
      }
    }
  }

  /** What gave up is an event of its own (not for a failed report itself: that would loop). */
  private async reportFailure(row: Pick<Row, 'id' | 'event'>, attempts: number, error: string): Promise<void> {
    if (row.event === 'webhook_failed') return
    await this.events.record('webhook_failed', { deliveryId: row.id, webhook: this.settings.id, event: row.event, attempts, error })
  }

  private async makePendingDue(): Promise<void> {
    await this.outbox.makePendingDue(new Date())
    this.mayHaveMore = true
  }

  /** The URL was cleared: what is still pending is given up. */
  private async dropPending(): Promise<void> {
    const dropped = await this.outbox.dropPending('not delivered: the webhook was turned off')
    if (dropped > 0) this.logger.info({ count: dropped }, 'webhook turned off: pending deliveries given up')
  }

  private async urlChanged(url: string | null): Promise<void> {
    try {
      if (url !== null) {
        // A new receiver starts afresh: no backoff inherited from the old one.
        await this.makePendingDue()
        this.backoff = false
      }
      this.notify()
    } catch (error) {
      this.logger.error({ err: error }, 'webhook worker could not take the new URL into account')
    }
  }

  private sleep(ms: number): void {
    clearTimeout(this.wakeTimer)
    if (this.stopping) return
    this.wakeTimer = setTimeout(() => this.notify(), Math.max(1, Math.min(ms, this.options.pollMs))).unref()
  }

  private runHousekeeping(): Promise<void> {
    if (this.stopping) return Promise.resolve()
    return (this.housekeepingRun ??= (async () => {
      try {
        await this.expire()
        await this.prune()
      } catch (error) {
        this.logger.error({ err: error }, 'webhook outbox housekeeping failed')
      } finally {
        this.housekeepingRun = undefined
      }
    })())
  }

  /**
   * Rows older than the maximum age that are still pending and were tried at least once (e.g. failed
   * in normal mode, then waited behind the probe) are given up without another attempt. Rows never
   * tried are left for their attempt (see the header).
   */
  private async expire(): Promise<void> {
    // Off after a 410 or paused, the backlog is on hold, whatever its age.
    if (this.settings.target === null) return
    const cutoff = new Date(Date.now() - this.options.maxAgeMs)
    while (!this.stopping) {
      const rows = await this.outbox.expiredPending(cutoff, 100)
      if (rows.length === 0) return
      for (const row of rows) {
        const error = `expired: not delivered within ${this.options.maxAgeMs} ms${row.lastError ? ` (last error: ${row.lastError})` : ''}`
        // Skipped if the worker claimed it meanwhile: its own attempt settles it.
        if (!(await this.outbox.expire(row.seq, error))) continue
        this.logger.error({ deliveryId: row.id, event: row.event, attempts: row.attempts }, 'webhook delivery given up: too old')
        await this.reportFailure(row, row.attempts, error)
        // It may have been the probe's row: the next one is the oldest now, and due for its attempt.
        this.notify()
      }
    }
  }

  /** Keeps the outbox bounded: old and surplus delivered rows go; failed and dead ones are kept longer. */
  private async prune(): Promise<void> {
    const { keepDeliveredMs, keepDelivered, keepFailedMs, keepFailed } = this.options
    const kept = [['delivered', keepDeliveredMs, keepDelivered], ['failed', keepFailedMs, keepFailed], ['dead', keepFailedMs, keepFailed]] as const
    for (const [status, keepMs, keep] of kept) {
      const count = await this.outbox.prune(status, keepMs, keep)
      if (count > 0) this.logger.debug({ status, count }, 'webhook outbox pruned')
    }
  }
}

/** The receiver's scheme, host and port: its path may carry a token, so it is not logged. */
function originOf(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return '(invalid URL)'
  }
}
