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

/** Removes `api_key` from a URL before it is logged. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]api_key=)[^&#]*/gi, `$1${REDACTED}`)
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
