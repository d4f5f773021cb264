// A live tail of one session's event log: what GET /api/events/stream and the events.onEvent
// subscription send. Events come from the log's commit listener as they are stored; a client that
// resumes (Last-Event-ID) first reads what it missed from the stored log, by id.
//
// Bounded: a client that reads slower than events come gets at most `maxBuffered` of them held in
// memory. Past that the held ones are dropped and the tail reads the log again from the last id
// the client got: nothing still in the log is lost, and memory does not grow with the backlog.
//
// Another process may own the session (several processes on one PostgreSQL): its events are then
// recorded there, and this process's listener never hears them, so the log is polled instead: one
// read of its newest id every `pollMs` for the session, shared by all its streams here, and a read
// of the new events by each stream only when there are some. Polling rather than forwarding the
// stream to the owner keeps a stream alive across a change of owner.
import { z } from 'zod'
import type { EventLog, RecordedEvent } from './log.js'
import { eventDataSchemas, eventTypes, isoTimestamp, type EventData, type EventType } from './types.js'

/** One event as streamed: the log's `{id, type, timestamp, data}`, its data typed by its type. */
export type StreamedEvent = { [K in EventType]: { id: number; type: K; timestamp: string; data: EventData<K> } }[EventType]

/** The same, as a schema (for the OpenAPI document of the SSE route). */
export const streamedEventSchema = z
  .union(eventTypes.map((type) => z.object({ id: z.number().int(), type: z.literal(type), timestamp: isoTimestamp, data: eventDataSchemas[type] })))
  .meta({ id: 'StreamedEvent' })

export interface TailOptions {
  /** Only events of these types; all when undefined. */
  types?: readonly EventType[] | undefined
  /** The last id the client saw: the tail starts right after it. Undefined: only events from now on. */
  after?: number | undefined
  /** Events held for a slow reader at most (see above). */
  maxBuffered: number
  /** Whether this process records the session's events now (it owns the session); else the log is polled. */
  isLocal: () => boolean
  pollMs: number
  signal: AbortSignal
}

/** Events read from the log per query while catching up. */
const PAGE = 100

/** How often an idle stream checks that its process still owns the session. */
const OWNERSHIP_CHECK_MS = 1_000

export class EventTail {
  private buffer: StreamedEvent[] = []
  /** The buffer overflowed: what it dropped is read from the log. */
  private overflowed = false
  private wake: (() => void) | undefined
  private readonly types: ReadonlySet<string> | undefined
  /** How many times the buffer overflowed (a slow reader); for tests and logs. */
  overflows = 0

  constructor(
    private readonly log: EventLog,
    private readonly options: TailOptions,
  ) {
    this.types = options.types ? new Set(options.types) : undefined
  }

  /** Events held in memory right now (at most maxBuffered). */
  get buffered(): number {
    return this.buffer.length
  }

  /** The events, oldest first, each once, until the signal aborts. */
  async *events(): AsyncGenerator<StreamedEvent, void, undefined> {
    const { signal } = this.options
    if (signal.aborted) return
    // Listening starts before the log is read, so no event falls between the read and the listener.
    const unsubscribe = this.log.subscribe((event, data) => this.push(event, data))
    const onAbort = () => this.wake?.()
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      const watch = newestIdWatch(this.log, this.options.pollMs)
      // The newest id the shared poll had seen before the last read of the log: anything newer may be unread.
      let readPast = watch.observed
      let cursor = this.options.after ?? (await this.newestId())
      let catchUp = this.options.after !== undefined
      let wasLocal = this.options.isLocal()
      while (!signal.aborted) {
        if (catchUp || this.overflowed) {
          // From here on the listener holds what comes; what came before is in the log.
          readPast = watch.observed
          this.overflowed = false
          this.buffer = []
          catchUp = false
          for (;;) {
            const page = await this.log.list({ after: cursor, limit: PAGE, types: this.options.types, oldestFirst: true })
            for (const event of page) {
              if (signal.aborted) return
              cursor = event.id
              yield event as StreamedEvent
            }
            if (page.length < PAGE) break
          }
          continue
        }
        const next = this.buffer.shift()
        if (next) {
          // Read from the log already when a catch-up overlapped the listener.
          if (next.id <= cursor) continue
          cursor = next.id
          yield next
          continue
        }
        const local = this.options.isLocal()
        if (local !== wasLocal) {
          // Ownership moved: what the other process recorded meanwhile is read from the log.
          wasLocal = local
          catchUp = true
          continue
        }
        // While local, waking now and then notices the session moving away (no event says so).
        if (local) await this.nextPush(OWNERSHIP_CHECK_MS)
        else {
          await watch.past(readPast, signal)
          catchUp = true
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort)
      unsubscribe()
      this.buffer = []
    }
  }

  /** Called by the log after each commit; never throws (a throw would fail the recorder's call). */
  private push(event: RecordedEvent, data: unknown): void {
    if (this.types && !this.types.has(event.type)) return
    if (this.overflowed) return
    if (this.buffer.length >= this.options.maxBuffered) {
      this.buffer = []
      this.overflowed = true
      this.overflows++
    } else {
      this.buffer.push({ id: event.id, type: event.type, timestamp: event.timestamp, data } as StreamedEvent)
    }
    this.wake?.()
  }

  /** Resolves at the next event, when the stream is aborted, or after `timeoutMs`. */
  private nextPush(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.wake = undefined
        resolve()
      }
      const timer = setTimeout(done, timeoutMs)
      this.wake = done
    })
  }

  private async newestId(): Promise<number> {
    return (await this.log.list({ limit: 1 }))[0]?.id ?? 0
  }
}

/**
 * The newest id of one session's log, read every `everyMs` while some stream of this process waits
 * for events another process records: one query per session and interval, however many streams.
 */
class NewestIdWatch {
  /** The newest id seen so far (-1 before the first read). */
  observed = -1
  private readonly waiters = new Map<() => void, number>()
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly log: EventLog,
    private readonly everyMs: number,
  ) {}

  /** Resolves once the log holds an id above `seen` (or the signal aborts). */
  past(seen: number, signal: AbortSignal): Promise<void> {
    if (this.observed > seen || signal.aborted) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done)
        signal.removeEventListener('abort', done)
        resolve()
      }
      this.waiters.set(done, seen)
      signal.addEventListener('abort', done, { once: true })
      this.timer ??= setTimeout(() => void this.poll(), this.everyMs)
    })
  }

  private async poll(): Promise<void> {
    try {
      this.observed = Math.max(this.observed, (await this.log.list({ limit: 1 }))[0]?.id ?? 0)
    } catch {
      // The store failing is reported by its health check; the next interval tries again.
    }
    this.timer = undefined
    for (const [done, seen] of this.waiters) if (this.observed > seen) done()
    if (this.waiters.size > 0) this.timer = setTimeout(() => void this.poll(), this.everyMs)
  }
}

const watches = new WeakMap<EventLog, NewestIdWatch>()

function newestIdWatch(log: EventLog, everyMs: number): NewestIdWatch {
  let watch = watches.get(log)
  if (!watch) watches.set(log, (watch = new NewestIdWatch(log, everyMs)))
  return watch
}
