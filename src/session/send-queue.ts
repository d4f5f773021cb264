// Outgoing messages leave one at a time with a minimum gap between them (bursts are what gets
// numbers flagged), and a send that does not finish in time fails clearly instead of hanging. When
// the socket closes (a logout, a reconnect, the session moving to another process), the sends in
// flight and waiting fail at once: the socket they were meant for will never answer them.
import { ApiError } from '../errors.js'

export class SendQueue {
  private tail: Promise<unknown> = Promise.resolve()
  private lastSentAt = 0
  /** Rejects every send queued or in flight; replaced after each interrupt(). */
  private cut = cutoff()

  constructor(
    private readonly minGapMs: number,
    private readonly timeoutMs: number,
  ) {}

  run<T>(task: () => Promise<T>): Promise<T> {
    const { promise: interrupted } = this.cut
    const turn = this.tail.then(async () => {
      const wait = this.lastSentAt + this.minGapMs - Date.now()
      if (wait > 0) await Promise.race([new Promise((resolve) => setTimeout(resolve, wait)), interrupted])
      try {
        return await Promise.race([withTimeout(task(), this.timeoutMs), interrupted])
      } finally {
        this.lastSentAt = Date.now()
      }
    })
    // The next send waits for this one to settle, whether it worked or not.
    this.tail = turn.catch(() => {})
    return Promise.race([turn, interrupted])
  }

  /** Fails every send queued or in flight with `error`; later sends are not affected. */
  interrupt(error: Error): void {
    this.cut.reject(error)
    this.cut = cutoff()
  }
}

function cutoff(): { promise: Promise<never>; reject: (error: Error) => void } {
  let reject!: (error: Error) => void
  const promise = new Promise<never>((_, no) => (reject = no))
  promise.catch(() => {}) // observed by the sends racing it; unobserved when none was waiting
  return { promise, reject }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  if (ms <= 0) return work
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ApiError('WHATSAPP_TIMEOUT', `WhatsApp did not answer within ${ms} ms`)), ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}
