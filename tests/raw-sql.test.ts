// Plain SQL on the client's own connection (src/store/raw-sql.ts), on both providers: rows typed as
// the client's $queryRaw types them, parameters stored as the client stores them, and transactions
// that commit everything or nothing.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rawSqlOf, sqlFragment as sql, sqlList } from '../src/store/database.js'
import { stopTestDatabases, testDatabases, withFreshClient } from './support/databases.js'

const databases = await testDatabases()
after(stopTestDatabases)

for (const database of databases) {
  describe(`raw SQL on ${database.provider}`, { skip: database.skip }, () => {
    test('rows come back typed as $queryRaw types them, and what it writes reads back through the client', () =>
      withFreshClient(database, async (db) => {
        const raw = rawSqlOf(db)
        const at = new Date('2026-12-01T10:11:12.345Z')
        const changed = await raw.execute(sql`INSERT INTO "Chat" ("session", "jid", "activityAt", "lastMessageId", "unreadCount") VALUES (${'default'}, ${'a@s.whatsapp.net'}, ${at}, ${null}, ${3})`)
        assert.equal(changed, 1)
        // The client reads what plain SQL wrote, and plain SQL reads it as $queryRaw does.
        const viaClient = await db.chat.findUniqueOrThrow({ where: { session_jid: { session: 'default', jid: 'a@s.whatsapp.net' } } })
        assert.deepEqual(viaClient, { session: 'default', jid: 'a@s.whatsapp.net', name: null, lastMessageId: null, activityAt: at, unreadCount: 3 })
        const query = sql`SELECT "jid", "activityAt", "lastMessageId", "unreadCount" FROM "Chat" WHERE "session" = ${'default'} AND "jid" IN (${sqlList(['a@s.whatsapp.net', 'b@s.whatsapp.net'])})`
        const rows = await raw.query(query)
        assert.deepEqual(rows, await db.$queryRaw(query))
        assert.ok(rows[0]!.activityAt instanceof Date)

        const [event] = await raw.query<{ id: unknown }>(sql`INSERT INTO "Event" ("session", "type", "data", "createdAt") VALUES (${'default'}, ${'message'}, ${'{}'}, ${at}) RETURNING "id"`)
        const ids = sql`SELECT "id" FROM "Event" WHERE "session" = ${'default'}`
        assert.deepEqual([event], await db.$queryRaw(ids))
        assert.deepEqual(await raw.query(ids), await db.$queryRaw(ids))
      }),
    )

    test('a transaction commits all of its statements, or none when one fails', () =>
      withFreshClient(database, async (db) => {
        const raw = rawSqlOf(db)
        const key = (id: string) => sql`INSERT INTO "AuthKey" ("session", "type", "id", "value", "updatedAt") VALUES (${'default'}, ${'pre-key'}, ${id}, ${'v'}, ${new Date()})`
        const ids = await raw.transaction(async (tx) => {
          for (let i = 1; i <= 3; i++) await tx.execute(key(String(i)))
          return tx.query<{ id: string }>(sql`SELECT "id" FROM "AuthKey" WHERE "session" = ${'default'} ORDER BY "id"`)
        })
        assert.deepEqual(ids.map((row) => row.id), ['1', '2', '3'], 'the transaction sees its own writes')
        assert.equal(await db.authKey.count(), 3, 'committed')

        await assert.rejects(
          raw.transaction(async (tx) => {
            await tx.execute(key('4'))
            await tx.execute(key('1')) // the same key again: a unique violation
          }),
        )
        assert.equal(await db.authKey.count(), 3, 'rolled back: the first statement is gone too')
        // The connection is usable afterwards, by both.
        await raw.transaction(async (tx) => void (await tx.execute(key('5'))))
        assert.deepEqual((await db.authKey.findMany({ orderBy: { id: 'asc' } })).map((row) => row.id), ['1', '2', '3', '5'])
      }),
    )
  })
}
