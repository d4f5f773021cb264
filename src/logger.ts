// Structured logs (pino). Secrets never reach them: the API key (header and query string), webhook
// secrets and anything shaped like Baileys' auth state are redacted wherever they appear.
// A person at a terminal reads them pretty-printed (pino-pretty, in this process: redaction has
// happened by then, since it prints what pino serialized); a log collector gets one JSON object a line.
import { pino, type Logger, type LevelWithSilent } from 'pino'
import pinoPretty from 'pino-pretty'

export type { Logger }

export const REDACTED = '[redacted]'

const redactPaths = [
  'req.headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers["x-api-key"]',
  // The secret of the hop between processes (src/http/forward.ts).
  'req.headers["x-wsgo-internal"]',
  'headers["x-wsgo-internal"]',
  'apiKey',
  'secret',
  '*.secret',
  'creds',
  '*.creds',
  'keys',
  '*.keys',
  'authState',
  '*.authState',
  'noiseKey',
  'signedIdentityKey',
  'signedPreKey',
  'advSecretKey',
  '*.noiseKey',
  '*.signedIdentityKey',
  '*.signedPreKey',
  '*.advSecretKey',
]

/**
 * Replaces the value of every `api_key` query parameter before a URL is logged. The key check reads
 * the query with URLSearchParams, which decodes names and values (`api%5Fkey` is `api_key`), so each
 * name is decoded the same way here; the value goes whole, however it is encoded.
 */
export function redactUrl(url: string): string {
  const queryAt = url.indexOf('?')
  if (queryAt < 0) return url
  const fragmentAt = url.indexOf('#', queryAt)
  const end = fragmentAt < 0 ? url.length : fragmentAt
  const pairs = url.slice(queryAt + 1, end).split('&').map((pair) => {
    const name = pair.split('=', 1)[0]!
    const decoded = new URLSearchParams(name).keys().next().value
    return decoded?.toLowerCase() === 'api_key' ? `${name}=${REDACTED}` : pair
  })
  return `${url.slice(0, queryAt + 1)}${pairs.join('&')}${url.slice(end)}`
}

/** LOG_FORMAT: `auto` is pretty when standard output is a terminal, JSON otherwise. */
export type LogFormat = 'auto' | 'pretty' | 'json'

export function isPretty(format: LogFormat, output: { isTTY?: boolean } = process.stdout): boolean {
  return format === 'pretty' || (format === 'auto' && output.isTTY === true)
}

/** Writes to `destination` (standard output by default), as JSON lines unless `format` says pretty. */
export function createLogger(level: LevelWithSilent, destination?: pino.DestinationStream, format: LogFormat = 'json'): Logger {
  const pretty = isPretty(format)
    ? pinoPretty({
        destination: destination ?? 1,
        // Synchronous on standard output, as pino's own: a fatal line is out before process.exit().
        sync: destination === undefined,
        colorize: destination === undefined && process.stdout.isTTY === true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,service',
        singleLine: false,
      })
    : undefined
  return pino(
    {
      level,
      base: { service: 'wsgo' },
      redact: { paths: redactPaths, censor: REDACTED },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pretty ?? destination,
  )
}
