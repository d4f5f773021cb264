// Event ingestion: incoming messages per second from the stand-in through the whole path (Baileys
// decrypts, the event is appended to the log with its 500 cap and its outbox row in one
// transaction, the worker delivers it to a loopback receiver), beside raw inserts of the same rows
// with the database driver alone: better-sqlite3 for SQLite, pg for PostgreSQL.
import { randomUUID } from 'node:crypto'
import { rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import pg from 'pg'
import { migrate } from '../src/store/migrate.js'
import { startTestPostgres } from '../tests/support/postgres.js'
import { tempDir } from '../tests/support/service.js'
import { SENDER, startPaired, type Paired } from './paired.js'
import { fmtRatio, fmtSeries, series, type SectionResult, type Table } from './report.js'
import { settings } from './settings.js'
import { percentile } from './stats.js'

const EVENT_LOG_LIMIT = 500

interface IngestRun {
  rate: number
  p50: number
  p99: number
  /** Share of the wall time spent in the stand-in producing the messages (Signal encryption, framing). */
  standinShare: number
}

/** Sends `n` messages from the stand-in as fast as it makes them; done when the receiver has them all. */
async function ingestRun(paired: Paired, n: number, round: number): Promise<IngestRun> {
  const { h, receiver } = paired
  const sentAt = new Map<string, number>()
  let standinMs = 0
  const started = performance.now()
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    const id = await h.standin.sendText(SENDER, `bench message ${round}.${i}`)
    standinMs += performance.now() - t
    sentAt.set(id, t)
  }
  await receiver.waitForMessages(sentAt.keys())
  let last = 0
  const latencies: number[] = []
  for (const [id, t] of sentAt) {
    const at = receiver.arrivals.get(id)!
    last = Math.max(last, at)
    latencies.push(at - t)
  }
  const wall = last - started
  return { rate: n / (wall / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99), standinShare: standinMs / wall }
}

/** The rows EventLog.record writes for one incoming message, as the service writes them. */
function rowsFor(payloadText: string): { type: string; data: string; payload: string } {
  const envelope = JSON.parse(payloadText) as { event: string; data: unknown }
  return { type: envelope.event, data: JSON.stringify(envelope.data), payload: payloadText }
}

interface SqliteStatement {
  run(...params: unknown[]): unknown
}
interface SqliteDatabase {
  pragma(source: string): unknown
  prepare(sql: string): SqliteStatement
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void
  close(): void
}
const require = createRequire(import.meta.url)

/** Raw better-sqlite3: per message one transaction with the same three statements as EventLog.record. */
async function sqliteFloor(file: string, payloadText: string, n: number): Promise<number> {
  const Database = require('better-sqlite3') as new (file: string, options?: { timeout?: number }) => SqliteDatabase
  const db = new Database(file, { timeout: 5000 })
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    const { type, data, payload } = rowsFor(payloadText)
    const insertEvent = db.prepare('INSERT INTO "Event" ("type", "data", "createdAt") VALUES (?, ?, ?)')
    const trim = db.prepare('DELETE FROM "Event" WHERE "id" < (SELECT "id" FROM "Event" ORDER BY "id" DESC LIMIT 1 OFFSET ?)')
    const insertDelivery = db.prepare('INSERT INTO "WebhookDelivery" ("id", "event", "payload", "createdAt", "nextAttemptAt") VALUES (?, ?, ?, ?, ?)')
    const record = db.transaction((now: string) => {
      insertEvent.run(type, data, now)
      trim.run(EVENT_LOG_LIMIT - 1)
      insertDelivery.run(randomUUID(), type, payload, now, now)
    })
    const started = performance.now()
    for (let i = 0; i < n; i++) record(new Date().toISOString())
    return n / ((performance.now() - started) / 1000)
  } finally {
    db.close()
  }
}

/** Raw pg: per message BEGIN, the same three statements, COMMIT, on one connection. */
async function postgresFloor(url: string, payloadText: string, n: number): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { type, data, payload } = rowsFor(payloadText)
    const started = performance.now()
    for (let i = 0; i < n; i++) {
      const now = new Date()
      await client.query('BEGIN')
      await client.query({ name: 'event', text: 'INSERT INTO "Event" ("type", "data", "createdAt") VALUES ($1, $2, $3) RETURNING "id"', values: [type, data, now] })
      await client.query({ name: 'trim', text: 'DELETE FROM "Event" WHERE "id" < (SELECT "id" FROM "Event" ORDER BY "id" DESC LIMIT 1 OFFSET $1)', values: [EVENT_LOG_LIMIT - 1] })
      await client.query({
        name: 'delivery',
        text: 'INSERT INTO "WebhookDelivery" ("id", "event", "payload", "createdAt", "nextAttemptAt") VALUES ($1, $2, $3, $4, $5)',
        values: [randomUUID(), type, payload, now, now],
      })
      await client.query('COMMIT')
    }
    return n / ((performance.now() - started) / 1000)
  } finally {
    await client.end()
  }
}

async function measure(
  provider: string,
  env: Record<string, string>,
  floor: (payload: string) => Promise<number>,
  log: (line: string) => void,
): Promise<{ rows: string[][]; ratio: number; p99: number }> {
  const { runs, messages } = settings
  log(`${provider}: starting the service paired with the stand-in, webhook to a loopback receiver`)
  const paired = await startPaired(env)
  try {
    const payload = paired.receiver.lastBody
    const service: IngestRun[] = []
    const floors: number[] = []
    await ingestRun(paired, Math.min(100, messages), 0) // warm-up
    await floor(payload)
    for (let round = 1; round <= runs; round++) {
      log(`${provider} round ${round}/${runs}: ${messages} messages, then ${messages * 4} raw transactions`)
      service.push(await ingestRun(paired, messages, round))
      floors.push(await floor(payload))
    }
    const ratios = series(service.map((s, i) => s.rate / floors[i]!))
    const share = series(service.map((s) => s.standinShare * 100))
    return {
      ratio: ratios.median,
      p99: series(service.map((s) => s.p99)).median,
      rows: [
        [`${provider}: raw driver, one transaction per message (floor)`, fmtSeries(series(floors)), '', '', '1.00', ''],
        [
          `${provider}: stand-in -> Baileys -> log + outbox -> webhook delivered`,
          fmtSeries(series(service.map((s) => s.rate))),
          fmtSeries(series(service.map((s) => s.p50))),
          fmtSeries(series(service.map((s) => s.p99))),
          fmtRatio(ratios),
          `${fmtSeries(share)} %`,
        ],
      ],
    }
  } finally {
    await paired.close()
  }
}

export async function runIngest(log: (line: string) => void): Promise<SectionResult> {
  const { runs, messages } = settings
  const rows: string[][] = []
  const notes: string[] = []
  const checks: SectionResult['checks'] = []

  const dir = tempDir('wsgo-bench-')
  try {
    const file = path.join(dir, 'floor.db')
    await migrate(`file:${file}`)
    const sqlite = await measure('SQLite', {}, (payload) => sqliteFloor(file, payload, messages * 4), log)
    rows.push(...sqlite.rows)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }

  log('PostgreSQL: starting a throw-away server (startTestPostgres)')
  const server = await startTestPostgres()
  if ('skipped' in server) {
    notes.push(`PostgreSQL skipped: ${server.skipped}`)
    log(`PostgreSQL skipped: ${server.skipped}`)
  } else {
    try {
      const floorUrl = await server.createDatabase()
      await migrate(floorUrl)
      const postgres = await measure('PostgreSQL', { DATABASE_URL: await server.createDatabase() }, (payload) => postgresFloor(floorUrl, payload, messages * 4), log)
      rows.push(...postgres.rows)
    } finally {
      await server.stop()
    }
  }

  const table: Table = {
    title: 'Incoming messages through the whole path, against raw inserts of the same rows',
    columns: ['what', 'messages/s', 'p50 ms in the burst', 'p99 ms in the burst', 'rate / floor', 'stand-in share of wall time'],
    rows,
    notes: [
      `${runs} runs; each run: ${messages} messages sent by the stand-in as fast as it encrypts them, timed from the first send to the last delivery; latency from send to receiver within that burst (mostly queueing: the burst arrives in well under a second); floor: ${messages * 4} transactions per run.`,
      'Everything (stand-in, Baileys, service, receiver) shares this process: the stand-in share is the time spent making the messages (Signal encryption), which a real WhatsApp server does elsewhere.',
      'Floor transactions: INSERT Event, DELETE beyond the newest 500, INSERT WebhookDelivery (the statements of EventLog.record); the service also settles each outbox row (one more write) and sends the HTTP request; a row written while the worker has a free slot and nothing older waits is written already claimed, otherwise one claim statement takes up to 8 rows.',
    ],
  }
  return { tables: [table], checks, notes }
}
