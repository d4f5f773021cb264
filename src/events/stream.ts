// A live tail of one session's event log: what GET /api/events/stream and the events.onEvent
// subscription send. Events come from the log's commit listener as they are stored; a client that
// resumes (Last-Event-ID) first reads what it missed from the stored log, by id.
//
// Bounded: a client that reads slower than events come gets at most `maxBuffered` of them held in
// memory. Past that the held ones are dropped and the tail reads the log again from the last id
// the client got: nothing still in the log is lost, and memory does not grow with the backlog.
//
// Another process may own the session (several processes on one PostgreSQL): its events are then
// recorded there, and this process's listener never hears them, so the tail polls the log by id
// every `pollMs` instead. Polling rather than forwarding the stream to the owner keeps a stream
// alive across a change of owner, and costs one indexed read per interval.
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
      let cursor = this.options.after ?? (await this.newestId())
      let catchUp = this.options.after !== undefined
      let wasLocal = this.options.isLocal()
      while (!signal.aborted) {
        if (catchUp || this.overflowed) {
          // From here on the listener holds what comes; what came before is in the log.
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
        await this.nextPush(local ? undefined : this.options.pollMs)
        if (!local) catchUp = true
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

  /** Resolves at the next event (or abort), or after `timeoutMs` when given. */
  private nextPush(timeoutMs: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.wake = undefined
        resolve()
      }
      const timer = timeoutMs === undefined ? undefined : setTimeout(done, timeoutMs)
      this.wake = done
    })
  }

  private async newestId(): Promise<number> {
    return (await this.log.list({ limit: 1 }))[0]?.id ?? 0
  }
}
