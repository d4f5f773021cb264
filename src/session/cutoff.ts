// Work that waits on something which can go away (the WhatsApp socket): when it goes, every call
// racing the cutoff fails at once with the reason given, instead of waiting for an answer that will
// never come. Calls that start after a cut race the next one.

/** One stretch between cuts: what the calls made during it race. */
export class Cut {
  /** Rejects with the reason when cut; never resolves. */
  readonly promise: Promise<never>
  /** Set once cut. */
  reason: Error | undefined
  private readonly fail: (reason: Error) => void

  constructor() {
    let fail!: (reason: Error) => void
    this.promise = new Promise<never>((_, reject) => (fail = reject))
    this.promise.catch(() => {}) // observed by the calls racing it; unobserved when none was waiting
    this.fail = fail
  }

  end(reason: Error): void {
    this.reason = reason
    this.fail(reason)
  }
}

export class Cutoff {
  private pending = new Cut()

  /** The cut a call starting now is subject to (it stays that call's after the next cut()). */
  get current(): Cut {
    return this.pending
  }

  /** Fails every call racing now with `reason`; calls made afterwards are not affected. */
  cut(reason: Error): void {
    const ending = this.pending
    this.pending = new Cut()
    ending.end(reason)
  }
}

/**
 * Settles with `work` or the cut, whichever comes first, or with what `expire` gives after `ms`
 * (no timer when `ms` <= 0). The timer is cleared however it ends: a call cut off leaves nothing
 * running behind it.
 */
export function raceCut<T>(interrupted: Cut, ms: number, expire: () => T, work?: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expiry = new Promise<T>((resolve, reject) => {
    if (ms <= 0) return
    timer = setTimeout(() => {
      try {
        resolve(expire())
      } catch (error) {
        reject(error)
      }
    }, ms)
  })
  return Promise.race([interrupted.promise, expiry, ...(work ? [work] : [])]).finally(() => clearTimeout(timer))
}
