// Outgoing messages leave one at a time with a minimum gap between them (bursts are what gets
// numbers flagged), and a send that does not finish in time fails clearly instead of hanging. When
// the socket closes (a logout, a reconnect, the session moving to another process), the sends in
// flight and waiting fail at once: the socket they were meant for will never answer them.
import { ApiError } from '../errors.js'
import { Cutoff, raceCut } from './cutoff.js'

export class SendQueue {
  private tail: Promise<unknown> = Promise.resolve()
  private lastSentAt = 0
  /** Fails every send queued or in flight at an interrupt(). */
  private readonly cutoff = new Cutoff()

  constructor(
    private readonly minGapMs: number,
    private readonly timeoutMs: number,
  ) {}

  run<T>(task: () => Promise<T>): Promise<T> {
    const cut = this.cutoff.current
    const turn = this.tail.then(async () => {
      const wait = this.lastSentAt + this.minGapMs - Date.now()
      if (wait > 0) await raceCut(cut, wait, () => undefined)
      // A send queued before an interrupt was already answered as failed: it must not go out later.
      if (cut.reason) throw cut.reason
      try {
        const timeout = () => {
          throw new ApiError('WHATSAPP_TIMEOUT', `WhatsApp did not answer within ${this.timeoutMs} ms`)
        }
        return await raceCut(cut, this.timeoutMs, timeout, task())
      } finally {
        this.lastSentAt = Date.now()
      }
    })
    // The next send waits for this one to settle, whether it worked or not.
    this.tail = turn.catch(() => {})
    return Promise.race([turn, cut.promise])
  }

  /** Fails every send queued or in flight with `error`; later sends are not affected. */
  interrupt(error: Error): void {
    this.cutoff.cut(error)
  }
}
