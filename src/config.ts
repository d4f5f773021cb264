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

export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** When set, every route but /health, /docs, /openapi.json and /qr needs it. */
  API_KEY: optionalString,
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

  /** WhatsApp's WebSocket URL; Baileys' own default when unset. */
  WA_WS_URL: optionalString,
  /** The WhatsApp Web version Baileys presents, e.g. 2.3000.1027934701. Baileys' own when unset. */
  WA_VERSION: optionalString.refine((v) => v === undefined || /^\d+\.\d+\.\d+$/.test(v), 'expected three numbers such as 2.3000.1027934701'),
  WA_SYNC_FULL_HISTORY: boolean(false),
  /** Pause after each retry receipt Baileys sends for a message it could not decrypt (Baileys' default). */
  WA_RETRY_REQUEST_DELAY_MS: milliseconds(250),
  /** Minimum gap between two outgoing messages (a guard against being flagged as spam). */
  SEND_MIN_GAP_MS: milliseconds(250),
  /** A send that WhatsApp has not acknowledged in this time fails with a clear error. */
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

export type Config = z.output<typeof configSchema>
export type ConfigInput = z.input<typeof configSchema>

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Reads the configuration from an environment-like record (process.env by default). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const known = Object.fromEntries(Object.keys(configSchema.shape).map((key) => [key, env[key]]))
  const result = configSchema.safeParse(known)
  if (result.success) return result.data
  const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}=${JSON.stringify(env[String(issue.path[0])] ?? '')}: ${issue.message}`)
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`)
}
