// Outgoing messages leave one at a time with a minimum gap between them (bursts are what gets
// numbers flagged), and a send that does not finish in time fails clearly instead of hanging.
import { ApiError } from '../errors.js'

export class SendQueue {
  private tail: Promise<unknown> = Promise.resolve()
  private lastSentAt = 0

  constructor(
    private readonly minGapMs: number,
    private readonly timeoutMs: number,
  ) {}

  run<T>(task: () => Promise<T>): Promise<T> {
    const turn = this.tail.then(async () => {
      const wait = this.lastSentAt + this.minGapMs - Date.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      try {
        return await withTimeout(task(), this.timeoutMs)
      } finally {
        this.lastSentAt = Date.now()
      }
    })
    // The next send waits for this one to settle, whether it worked or not.
    this.tail = turn.catch(() => {})
    return turn
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  if (ms <= 0) return work
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ApiError('WHATSAPP_TIMEOUT', `WhatsApp did not answer within ${ms} ms`)), ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}
