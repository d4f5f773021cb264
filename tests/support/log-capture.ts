// The service's log, kept in memory: tests read what was logged (and check what must not be).
import { Writable } from 'node:stream'
import { createLogger, type Logger } from '../../src/logger.js'

export interface CapturedLog {
  /** Every line written so far, in order (each one JSON object and its newline). */
  lines: string[]
  /** A logger at `level` writing into `lines`, for ServiceOptions.logger. */
  logger: Logger
}

export function captureLog(level: Parameters<typeof createLogger>[0] = 'debug'): CapturedLog {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    },
  })
  return { lines, logger: createLogger(level, sink) }
}
