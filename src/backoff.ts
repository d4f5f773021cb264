// How long to wait before trying again (a webhook delivery, a WhatsApp reconnect): exponential
// (floor, 2x floor, 4x floor, ...) up to a cap, with random jitter so that many retries do not
// fire in lockstep.
export interface BackoffOptions {
  /** Wait after the first failed attempt; never waits less than this. */
  minMs: number
  /** Longest wait. */
  maxMs: number
  /** Jitter as a fraction of the nominal delay, 0.2 by default. */
  jitter?: number
}

/**
 * The delay after `failures` failed attempts (1 for the first). The nominal delay is
 * `minMs * 2^(failures-1)`; the result is drawn uniformly from `[nominal, nominal * (1 + jitter)]`,
 * and where that passes the cap, from `[maxMs - nominal * jitter, maxMs]` (the window keeps its
 * width below the cap). It is never below `minMs` and never above `max(minMs, maxMs)`.
 */
export function retryDelay(failures: number, options: BackoffOptions, random: () => number = Math.random): number {
  const { minMs } = options
  const maxMs = Math.max(minMs, options.maxMs)
  const jitter = options.jitter ?? 0.2
  // 2^60 is already far past any cap; this keeps the arithmetic finite.
  const nominal = Math.min(maxMs, minMs * 2 ** Math.min(Math.max(failures, 1) - 1, 60))
  const high = Math.min(maxMs, nominal * (1 + jitter))
  const low = Math.max(minMs, high - nominal * jitter)
  return Math.round(low + random() * (high - low))
}
