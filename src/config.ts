// Configuration, read once from the environment and validated at start-up. A bad value stops the
// service with a message naming the variable, instead of failing later somewhere less obvious.
import { z } from 'zod'

const boolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes')

const milliseconds = (fallback: number) => z.coerce.number().int().min(0).default(fallback)
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v))

/** Parses a byte size such as `25mb`, `512kb` or `1048576`. */
const byteSize = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(v.trim())
      if (!match) {
        ctx.addIssue({ code: 'custom', message: 'expected a size such as 25mb, 512kb or a number of bytes' })
        return z.NEVER
      }
      const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(match[2] ?? 'b').toLowerCase() as 'b']
      return Math.round(Number(match[1]) * unit)
    })

/**
 * The allowed origins of CORS_ORIGINS: a comma-separated list of `scheme://host[:port]`, or `*`.
 * Each is kept in the form a browser's Origin header has (URL.origin: lowercase, no default port).
 */
const originList = z
  .string()
  .default('')
  .transform((v, ctx) => {
    const origins: string[] = []
    for (const item of v.split(',').map((part) => part.trim()).filter(Boolean)) {
      if (item === '*') {
        origins.push(item)
        continue
      }
      // Only scheme, host and port: a browser's Origin header never has a path, a query or a user.
      if (!/^https?:\/\/[^/?#@]+\/?$/i.test(item) || !URL.canParse(item)) {
        ctx.addIssue({ code: 'custom', message: `"${item}" is not an origin: expected scheme://host[:port] such as https://app.example.com, or *` })
        continue
      }
      origins.push(new URL(item).origin)
    }
    return origins
  })

const fields = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /**
   * The interface to listen on. Unset: 127.0.0.1 when there is no API_KEY (an open API is only
   * reachable from this machine), all interfaces (0.0.0.0) with one.
   */
  HOST: z.string().trim().min(1, 'is empty: set an address such as 127.0.0.1 or 0.0.0.0, or remove the variable').optional(),
  /** When set, every route but /health, /docs, /openapi.json and /qr needs it. */
  API_KEY: z
    .string()
    .optional()
    // An empty key is a mistake (a template's `API_KEY=` left blank), not a wish for an open API.
    .refine((v) => v === undefined || v.trim() !== '', 'is empty: set a key, or remove the variable to run without one (reachable from this machine only)'),
  /** The key of GET /metrics (Prometheus), besides API_KEY: a scraper holding it reaches nothing else. */
  METRICS_KEY: optionalString,
  /** Browser origins allowed to call the API from their pages (CORS); other sites' pages cannot change anything. */
  CORS_ORIGINS: originList,
  /** Open HTTP connections at most; more are refused until some close. */
  MAX_CONNECTIONS: z.coerce.number().int().min(1).default(1024),
  /** `pretty` for people (the default on a terminal), `json` for log collectors (the default otherwise). */
  LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
  DATABASE_URL: z
    .string()
    .default('file:./data/wsgo.db')
    .refine((v) => /^(file:|postgres(ql)?:\/\/)/i.test(v), 'expected file:<path> (SQLite) or postgres(ql)://... (PostgreSQL)'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Largest accepted request body. A 16 MB file sent as base64 is about 21.4 MB of JSON. */
  BODY_LIMIT: byteSize('25mb'),
  /** Public base URL written into the OpenAPI document's `servers` (e.g. behind a reverse proxy). */
  PUBLIC_URL: optionalString,
  /** How many events GET /api/events keeps (older ones are deleted as new ones arrive). */
  EVENT_LOG_LIMIT: z.coerce.number().int().min(1).max(100_000).default(500),
  /** Live event streams (GET /api/events/stream, events.onEvent) open at once in this process; more are refused (429). */
  EVENT_STREAM_MAX: z.coerce.number().int().min(1).default(100),
  /** Events one stream holds for a client that reads slower than they come; past it the stream reads the log instead. */
  EVENT_STREAM_BUFFER: z.coerce.number().int().min(1).max(100_000).default(1000),
  /** A heartbeat on an idle live stream this often (proxies close silent connections). */
  EVENT_STREAM_HEARTBEAT_MS: z.coerce.number().int().min(10).default(15_000),

  /** WhatsApp's WebSocket URL; Baileys' own default when unset. */
  WA_WS_URL: optionalString,
  /** The WhatsApp Web version Baileys presents, e.g. 2.3000.1027934701. Baileys' own when unset. */
  WA_VERSION: optionalString.refine((v) => v === undefined || /^\d+\.\d+\.\d+$/.test(v), 'expected three numbers such as 2.3000.1027934701'),
  WA_SYNC_FULL_HISTORY: boolean(false),
  /** Days a stored message is kept (GET /api/chats/{jid}/messages); 0 keeps none (sent ones stay for retries, see sent-messages.ts). */
  MESSAGE_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(90),
  /** Incoming media larger than this is not kept (its `message` event says so in `media.error`). */
  MEDIA_MAX_BYTES: byteSize('64mb'),
  /** Reject every incoming WhatsApp call (the `call` event is still recorded). */
  REJECT_CALLS: boolean(false),
  /** Pause after each retry receipt Baileys sends for a message it could not decrypt (Baileys' default). */
  WA_RETRY_REQUEST_DELAY_MS: milliseconds(250),
  /** Minimum gap between two outgoing messages (a guard against being flagged as spam). */
  SEND_MIN_GAP_MS: milliseconds(250),
  /** A send, or any other call to WhatsApp (groups, number checks, profiles), not answered in this time fails with a clear error (504). */
  SEND_TIMEOUT_MS: milliseconds(30_000),
  /** Each session has one owner among the processes sharing a database; a dead owner's sessions move after this long. */
  WA_LEASE_TTL_MS: z.coerce.number().int().min(300).default(15_000),
  /**
   * This process's URL as the other processes sharing the database reach it (requests for the
   * sessions it owns are forwarded there). Default: http://<hostname>:<PORT>, or 127.0.0.1 when
   * HOST is a loopback address.
   */
  INTERNAL_URL: optionalString.refine((v) => v === undefined || /^https?:\/\/[^/]+\/?$/.test(v), 'expected a base URL such as http://wsgo-1:8080'),
  /** Protects the hop between processes (header X-Wsgo-Internal). Default: derived from API_KEY. */
  INTERNAL_SECRET: optionalString,
  RECONNECT_MIN_MS: milliseconds(1_000),
  RECONNECT_MAX_MS: milliseconds(60_000),

  /** Secret for X-Wsgo-Signature (HMAC-SHA256 of the body). POST /api/webhook can set one too. */
  WEBHOOK_SECRET: optionalString,
  WEBHOOK_TIMEOUT_MS: milliseconds(10_000),
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  /** Wait before the first retry; it doubles with every failed attempt (plus jitter) up to WEBHOOK_RETRY_MAX_MS. */
  WEBHOOK_RETRY_MIN_MS: z.coerce.number().int().min(1).default(1_000),
  WEBHOOK_RETRY_MAX_MS: milliseconds(10 * 60_000),
  /** A delivery still failing this long after its event is given up and recorded as failed. */
  WEBHOOK_MAX_AGE_MS: milliseconds(24 * 60 * 60_000),
})

export const configSchema = fields.transform(({ HOST, ...config }) => ({ ...config, HOST: HOST ?? (config.API_KEY === undefined ? '127.0.0.1' : '0.0.0.0') }))

export type Config = z.output<typeof configSchema>
export type ConfigInput = z.input<typeof configSchema>

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Reads the configuration from an environment-like record (process.env by default). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const known = Object.fromEntries(Object.keys(fields.shape).map((key) => [key, env[key]]))
  const result = configSchema.safeParse(known)
  if (result.success) return result.data
  const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}=${JSON.stringify(env[String(issue.path[0])] ?? '')}: ${issue.message}`)
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`)
}
