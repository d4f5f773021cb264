// A logger for Baileys that cannot flood the log. When a peer sends thousands of messages that fail
// to decrypt, Baileys logs the same warning thousands of times; here each distinct message (level +
// text) passes a few times per window, then is held back and summarised once per window:
// `{"suppressed": 9995, "msg": "failed to decrypt message (repeated)"}`.
import type { ILogger } from '@whiskeysockets/baileys/lib/Utils/logger.js'
import type { Logger } from '../logger.js'

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error'

export interface QuietOptions {
  /** Lines of one kind let through per window. */
  burst: number
  windowMs: number
  /** Distinct kinds tracked at once (memory stays bounded whatever Baileys logs). */
  maxKinds: number
}

const DEFAULTS: QuietOptions = { burst: 5, windowMs: 10_000, maxKinds: 500 }

interface Kind {
  windowStart: number
  count: number
  suppressed: number
}

class Limiter {
  private readonly kinds = new Map<string, Kind>()
  private flushTimer: NodeJS.Timeout | undefined

  constructor(
    private readonly options: QuietOptions,
    private readonly report: (level: Level, message: string, suppressed: number) => void,
  ) {}

  /** Whether this line may be written now. */
  admit(level: Level, message: string): boolean {
    // Lines that differ only in numbers (ids, offsets, counts) are one kind.
    const key = `${level}\u0000${message.replace(/\d+/g, '#').slice(0, 120)}`
    const now = Date.now()
    let kind = this.kinds.get(key)
    if (!kind || now - kind.windowStart >= this.options.windowMs) {
      if (kind?.suppressed) this.report(level, message, kind.suppressed)
      if (!kind && this.kinds.size >= this.options.maxKinds) this.evictOldest()
      kind = { windowStart: now, count: 0, suppressed: 0 }
      this.kinds.delete(key)
      this.kinds.set(key, kind)
    }
    if (++kind.count <= this.options.burst) return true
    kind.suppressed++
    this.scheduleFlush()
    return false
  }

  /** Summaries must appear even when the storm stops and no new line of that kind arrives. */
  private scheduleFlush(): void {
    if (this.flushTimer) return
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined
      this.flush(false)
    }, this.options.windowMs)
    this.flushTimer.unref?.()
  }

  flush(all: boolean): void {
    const now = Date.now()
    for (const [key, kind] of this.kinds) {
      if (!kind.suppressed || (!all && now - kind.windowStart < this.options.windowMs)) continue
      const [level, message] = key.split('\u0000') as [Level, string]
      this.report(level, message, kind.suppressed)
      kind.suppressed = 0
    }
    if ([...this.kinds.values()].some((k) => k.suppressed)) this.scheduleFlush()
  }

  private evictOldest(): void {
    const [key, kind] = this.kinds.entries().next().value as [string, Kind]
    if (kind.suppressed) {
      const [level, message] = key.split('\u0000') as [Level, string]
      this.report(level, message, kind.suppressed)
    }
    this.kinds.delete(key)
  }
}

function messageOf(obj: unknown, msg: string | undefined): string {
  if (msg) return msg
  if (typeof obj === 'string') return obj
  return (obj as { msg?: string } | undefined)?.msg ?? ''
}

function wrap(logger: Logger, limiter: Limiter): ILogger {
  const method =
    (level: Level) =>
    (obj: unknown, msg?: string): void => {
      if (!logger.isLevelEnabled(level)) return
      if (!limiter.admit(level, messageOf(obj, msg))) return
      if (msg === undefined) logger[level](obj as object)
      else logger[level](obj as object, msg)
    }
  return {
    get level() {
      return logger.level
    },
    set level(value: string) {
      logger.level = value
    },
    child: (bindings) => wrap(logger.child(bindings), limiter),
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
  }
}

/** `logger`, rate-limited per distinct message; all its children share one limiter. */
export function quietLogger(logger: Logger, options: Partial<QuietOptions> = {}): ILogger {
  const limiter = new Limiter({ ...DEFAULTS, ...options }, (level, message, suppressed) =>
    logger[level]({ suppressed, windowMs: options.windowMs ?? DEFAULTS.windowMs }, `${message} (repeated)`),
  )
  return wrap(logger, limiter)
}

// libsignal (Baileys' Signal implementation) writes straight to the console: one line plus a stack
// per message it cannot decrypt, and on every session change the whole session object, private
// chain keys included. Its lines are recognised here and sent to the quiet logger as text only.
const LIBSIGNAL_LINES: Array<[RegExp, Level]> = [
  [/^(Failed to decrypt message|Session error:|WARNING: Expected pubkey|V1 session storage migration error)/, 'warn'],
  [/^(Closing open session|Decrypted message with closed session|Migrating session|Session already (closed|open)|Closing session|Opening session|Removing old closed session|Unhandled bucket type)/, 'debug'],
]

let consoleTarget: ILogger | undefined
let originalConsole: Pick<Console, 'log' | 'info' | 'warn' | 'error'> | undefined

/** Routes libsignal's console output into `logger` (the latest call wins); other console output is untouched. */
export function routeLibsignalConsole(logger: ILogger): void {
  consoleTarget = logger
  if (originalConsole) return
  originalConsole = { log: console.log, info: console.info, warn: console.warn, error: console.error }
  for (const name of ['log', 'info', 'warn', 'error'] as const) {
    const original = originalConsole[name]
    console[name] = (...args: unknown[]) => {
      const [first] = args
      const match = typeof first === 'string' && consoleTarget ? LIBSIGNAL_LINES.find(([pattern]) => pattern.test(first)) : undefined
      if (!match) return original.apply(console, args)
      // Only the text: the other arguments are session objects holding keys, or stacks. The part
      // after a colon is a detail (e.g. "Session error:Error: invalid wire type 4"), kept as a field.
      const line = (first as string).split('\n')[0]!.slice(0, 300)
      const colon = line.indexOf(':')
      const [msg, detail] = colon > 0 ? [line.slice(0, colon), line.slice(colon + 1).trim()] : [line, undefined]
      consoleTarget![match[1]]({ source: 'libsignal', ...(detail && { detail }) }, msg)
    }
  }
}

/** Baileys is chatty: its info lines are our debug lines. */
export function baileysLevel(level: string): string {
  return level === 'debug' || level === 'trace' || level === 'silent' ? level : level === 'info' ? 'warn' : level
}
