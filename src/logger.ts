// Structured logs (pino). Secrets never reach them: the API key (header and query string), webhook
// secrets and anything shaped like Baileys' auth state are redacted wherever they appear.
import { pino, type Logger, type LevelWithSilent } from 'pino'

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

export function createLogger(level: LevelWithSilent, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'wsgo' },
      redact: { paths: redactPaths, censor: REDACTED },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  )
}
