// The live event streams open in this process: at most EVENT_STREAM_MAX at once (each holds a
// connection, a listener and up to EVENT_STREAM_BUFFER events), and all of them end when the
// service stops, rather than hold its graceful stop until the drain timeout cuts them.
import { ApiError } from '../errors.js'

export interface StreamSlot {
  /** Aborted when the stream must end: the client went (the signal given to open) or the service stops. */
  readonly signal: AbortSignal
  /** Frees the slot; safe to call more than once. */
  close(): void
}

export class StreamRegistry {
  private readonly open = new Set<AbortController>()
  private stopped: string | undefined

  constructor(private readonly max: number) {}

  get count(): number {
    return this.open.size
  }

  /** A slot for a new stream, freed when `clientGone` aborts or close() is called; 429 when all are taken. */
  acquire(clientGone: AbortSignal | undefined): StreamSlot {
    if (this.stopped !== undefined) throw new ApiError('NOT_CONNECTED', `No new event streams: ${this.stopped}`)
    if (this.open.size >= this.max) {
      throw new ApiError('TOO_MANY_STREAMS', `${this.max} event streams are open already (EVENT_STREAM_MAX); close one or try again later`)
    }
    const controller = new AbortController()
    this.open.add(controller)
    const close = () => {
      if (!this.open.delete(controller)) return
      clientGone?.removeEventListener('abort', close)
      if (!controller.signal.aborted) controller.abort('closed')
    }
    clientGone?.addEventListener('abort', close, { once: true })
    if (clientGone?.aborted) close()
    return { signal: controller.signal, close }
  }

  /** Ends every open stream with `reason` (the service is stopping); new ones are refused from now on. */
  endAll(reason: string): void {
    this.stopped = reason
    for (const controller of [...this.open]) {
      this.open.delete(controller)
      controller.abort(reason)
    }
  }
}

const registries = new WeakMap<object, StreamRegistry>()

/** The registry of one running service (keyed by its Services object; several run in one test process). */
export function streamRegistryOf(services: { config: { EVENT_STREAM_MAX: number } }): StreamRegistry {
  let registry = registries.get(services)
  if (!registry) registries.set(services, (registry = new StreamRegistry(services.config.EVENT_STREAM_MAX)))
  return registry
}
