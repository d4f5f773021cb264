// The store on both providers: migrations, the rolling event log with its outbox rows, settings
// that survive a restart of the service.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { openClient, providerOf } from '../src/store/database.js'
import { migrate, prismaDir } from '../src/store/migrate.js'
import { EventLog } from '../src/events/log.js'
import { Outbox, pendingTarget } from '../src/webhooks/outbox.js'
// @ts-expect-error plain ESM helper shared with postinstall
import { renderSchema, schemaPath, PROVIDERS } from '../scripts/prisma-schemas.mjs'
import { stopTestDatabases, testDatabases } from './support/databases.js'
import { startTestService } from './support/service.js'
import { sampleMessage } from './support/fixtures.js'

// Awaited before any test is declared: the runner must see every test and hook at once.
const databases = await testDatabases()
after(stopTestDatabases)

/** The committed migrations of a provider, in the order they apply. */
const committedMigrations = (provider: string) =>
  readdirSync(path.join(prismaDir, provider, 'migrations'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()

test('the committed provider schemas are rendered from prisma/models.prisma', () => {
  for (const provider of PROVIDERS as string[]) {
    assert.equal(readFileSync(schemaPath(provider), 'utf8'), renderSchema(provider), `${provider} schema is stale: run npm run db:schemas`)
  }
})

for (const database of databases) {
  describe(`store on ${database.provider}`, { skip: database.skip }, () => {
    test('migrations apply once, then there is nothing left to apply', async () => {
      const url = await database.fresh()
      assert.equal(providerOf(url), database.provider)
      const first = await migrate(url)
      assert.deepEqual(first, committedMigrations(database.provider))
      assert.match(first[0]!, /_init$/)
      assert.deepEqual(await migrate(url), [])
    })

    test('three starts migrating one new database at once: it is migrated once and none fails', async () => {
      // As when several containers share one PostgreSQL and start together (the connection lease
      // only begins after migrating); each call has its own engine and connections.
      const url = await database.fresh()
      const results = await Promise.all([migrate(url), migrate(url), migrate(url)])
      assert.deepEqual(results.flat().sort(), committedMigrations(database.provider), JSON.stringify(results))
      const db = await openClient(url)
      try {
        assert.equal(await db.event.count(), 0)
        assert.equal(Number(((await db.$queryRawUnsafe('SELECT COUNT(*) AS n FROM _prisma_migrations')) as Array<{ n: unknown }>)[0]!.n), committedMigrations(database.provider).length)
      } finally {
        await db.$disconnect()
      }
    })

    test('the event log never holds more than its cap after 2,000 events, and writes outbox rows in the same step', async () => {
      const url = await database.fresh()
      await migrate(url)
      const db = await openClient(url)
      try {
        const log = new EventLog(db, 'default', 500, new Outbox(db, 'default'))
        let notified = 0
        log.useOutbox({ targets: (type) => (type === 'message' ? [pendingTarget('w1', () => notified++)] : []) })
        for (let i = 0; i < 2_000; i++) {
          await log.record(i % 2 ? 'message' : 'qr', i % 2 ? sampleMessage(i) : { qr: `code-${i}` })
        }
        assert.equal(await db.event.count(), 500)
        const newest = await log.list({ limit: 3 })
        assert.deepEqual(newest.map((e) => e.type), ['message', 'qr', 'message'])
        assert.equal((newest[0]!.data as { messageID: string }).messageID, 'M1999')
        assert.equal((await log.list({ limit: 1_000, type: 'qr' })).length, 250)
        // Every message got its outbox row, including those trimmed from the log since.
        const deliveries = await db.webhookDelivery.findMany({ orderBy: { seq: 'asc' } })
        assert.equal(deliveries.length, 1_000)
        assert.equal(notified, 1_000)
        assert.deepEqual(JSON.parse(deliveries[0]!.payload), { event: 'message', data: sampleMessage(1) })
        assert.equal(new Set(deliveries.map((d) => d.id)).size, 1_000)
      } finally {
        await db.$disconnect()
      }
    })

    test('what was stored survives a restart of the service', async () => {
      const url = await database.fresh()
      const first = await startTestService({ DATABASE_URL: url })
      const set = await fetch(`${first.url}/api/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: 'https://example.com/hook', events: ['message'], secret: 's3cret' }),
      })
      assert.equal(set.status, 200)
      await (await first.services.sessions.get('default')).events.record('qr', { qr: 'persisted' })
      await first.close()

      const second = await startTestService({ DATABASE_URL: url })
      try {
        const webhook = (await (await fetch(`${second.url}/api/webhook`)).json()) as Record<string, unknown>
        assert.equal(webhook.url, 'https://example.com/hook')
        assert.deepEqual(webhook.events, ['message'])
        assert.equal(webhook.secretSet, true)
        assert.equal(JSON.stringify(webhook).includes('s3cret'), false)
        const events = (await (await fetch(`${second.url}/api/events?type=qr`)).json()) as Array<{ data: { qr: string } }>
        assert.equal(events[0]?.data.qr, 'persisted')
      } finally {
        await second.close()
      }
    })
  })
}

