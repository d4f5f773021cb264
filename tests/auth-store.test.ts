// Baileys' auth state in the database, on both providers: creds and a realistic key set round-trip
// byte for byte, multi-key writes are atomic, clear() forgets everything.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { BufferJSON, Curve, initAuthCreds, makeCacheableSignalKeyStore, proto, type SignalDataSet } from '@whiskeysockets/baileys'
import { openClient, rawSqlOf, storeHealthOf } from '../src/store/database.js'
import { migrate } from '../src/store/migrate.js'
import { AuthStore } from '../src/session/auth-store.js'
import { UnwrittenKeys } from '../src/session/unwritten-keys.js'
import { stopTestDatabases, testDatabases, withFreshClient } from './support/databases.js'
import { tempDir } from './support/service.js'
import { waitUntil } from './support/whatsapp.js'

const databases = await testDatabases()
after(stopTestDatabases)

const asJson = (value: unknown) => JSON.stringify(value, BufferJSON.replacer)

function realisticKeys(): SignalDataSet {
  return {
    'pre-key': Object.fromEntries(Array.from({ length: 30 }, (_, i) => [String(i + 1), Curve.generateKeyPair()])),
    session: { '15550002222.0': randomBytes(1200), '88880002222_1.0': randomBytes(900) },
    'sender-key': { '120363000000000001@g.us::88880002222::0': randomBytes(300) },
    'sender-key-memory': { '120363000000000001@g.us': { '88880002222:0@lid': true } },
    'app-state-sync-key': {
      AAAAAQ: proto.Message.AppStateSyncKeyData.fromObject({ keyData: randomBytes(32), fingerprint: { rawId: 7, currentIndex: 1, deviceIndexes: [0, 1] }, timestamp: 1700000000 }),
    },
    'lid-mapping': { '15550002222': '88880002222' },
    'device-list': { '15550002222': ['0', '1'] },
  }
}

for (const database of databases) {
  describe(`auth store on ${database.provider}`, { skip: database.skip }, () => {
    test('creds and keys round-trip byte for byte, also through a fresh client', async () => {
      const url = await database.fresh()
      await migrate(url)
      const db = await openClient(url)
      const store = new AuthStore(db, 'default')
      const state = await store.load()
      assert.equal(state.restored, false)
      state.creds.me = { id: '15550001111:1@s.whatsapp.net', name: 'My Business' }
      await state.saveCreds()
      const keys = realisticKeys()
      await state.keys.set(keys)
      await db.$disconnect()

      // "Restart": a new client, a new store, everything read back from the rows.
      const db2 = await openClient(url)
      try {
        const again = await new AuthStore(db2, 'default').load()
        assert.equal(again.restored, true)
        assert.equal(asJson(again.creds), asJson(state.creds))
        for (const [type, entries] of Object.entries(keys)) {
          const ids = Object.keys(entries!)
          const read = await again.keys.get(type as keyof SignalDataSet, ids)
          assert.equal(asJson(read), asJson(entries), `${type} differs`)
        }
        const syncKey = (await again.keys.get('app-state-sync-key', ['AAAAAQ'])).AAAAAQ
        assert.ok(syncKey instanceof proto.Message.AppStateSyncKeyData, 'app-state sync keys are revived as protos')
        assert.equal(await new AuthStore(db2, 'default').isPaired(), true)
      } finally {
        await db2.$disconnect()
      }
    })

    test('a set() with writes and deletes is one transaction; null deletes; clear() forgets all', async () => {
      const url = await database.fresh()
      await migrate(url)
      const db = await openClient(url)
      try {
        const store = new AuthStore(db, 'default')
        const state = await store.load()
        await state.saveCreds()
        await state.keys.set({ 'pre-key': { '1': Curve.generateKeyPair(), '2': Curve.generateKeyPair() } })
        await state.keys.set({ 'pre-key': { '1': null }, session: { a: randomBytes(10) } })
        assert.deepEqual(Object.keys(await state.keys.get('pre-key', ['1', '2'])), ['2'])

        // set() sends its writes as one batch transaction; a batch whose last statement fails
        // keeps none of the others (here: a duplicate primary key).
        const before = await db.authKey.count()
        await assert.rejects(
          db.$transaction([
            db.authKey.create({ data: { session: 'default', type: 'session', id: 'x', value: '1' } }),
            db.authKey.create({ data: { session: 'default', type: 'session', id: 'x', value: '2' } }),
          ]),
        )
        assert.equal(await db.authKey.count(), before, 'nothing of the failed batch was kept')

        await store.clear()
        assert.equal(await db.authKey.count(), 0)
        assert.equal(await store.isPaired(), false)
      } finally {
        await db.$disconnect()
      }
    })

    test('a key whose write is still on its way to the database is read from memory, also when the write is a retry', () =>
      withFreshClient(database, async (db) => {
        // Every write to the database waits for the test's go: reads happen while it is on its way.
        const raw = rawSqlOf(db)
        let go!: () => void
        let gate = new Promise<void>((resolve) => (go = resolve))
        let refuse = false
        const execute = raw.execute.bind(raw)
        Object.assign(raw, {
          execute: async (...args: Parameters<typeof execute>) => {
            await gate
            if (refuse) throw new Error('the database refuses writes (test)')
            return execute(...args)
          },
        })
        const { keys } = await new AuthStore(db, 'default').load()

        const writing = keys.set({ 'pre-key': { '1': Curve.generateKeyPair() } })
        await new Promise((resolve) => setTimeout(resolve, 20))
        assert.ok((await keys.get('pre-key', ['1']))['1'], 'read while its write is on its way')
        go()
        await writing
        assert.ok((await keys.get('pre-key', ['1']))['1'])

        // A refused write is retried by a timer, not by set(): the same holds for the retry, and what
        // was read meanwhile is not remembered as absent.
        gate = new Promise<void>((resolve) => (go = resolve))
        refuse = true
        const refused = keys.set({ 'pre-key': { '2': Curve.generateKeyPair() } })
        go()
        await refused
        refuse = false
        gate = new Promise<void>((resolve) => (go = resolve))
        await waitUntil('the retry to be on its way', async () => ((await db.authKey.count({ where: { type: 'pre-key' } })) === 1 ? true : undefined))
        await new Promise((resolve) => setTimeout(resolve, 1_200)) // the retry (1 s) is now held at the gate
        assert.ok((await keys.get('pre-key', ['2']))['2'], 'read while its retry is on its way')
        go()
        await waitUntil('the retry to land', async () => ((await db.authKey.count({ where: { type: 'pre-key' } })) === 2 ? true : undefined))
        assert.ok((await keys.get('pre-key', ['2']))['2'], 'and after it')
      }),
    )

    test('a missing key is looked up once until written; a read racing a write never hides the key', async () => {
      const url = await database.fresh()
      await migrate(url)
      const db = await openClient(url)
      try {
        let reads = 0
        // Key reads are plain SQL on the client's connection (src/store/raw-sql.ts): counted there.
        const raw = rawSqlOf(db)
        const query = raw.query.bind(raw)
        Object.assign(raw, { query: (...args: Parameters<typeof query>) => (reads++, query(...args)) })
        const { keys } = await new AuthStore(db, 'default').load()

        assert.deepEqual(await keys.get('device-list', ['15550002222']), {})
        assert.deepEqual(await keys.get('device-list', ['15550002222']), {})
        assert.equal(reads, 1, 'the second lookup of a missing key is answered from memory')
        await keys.set({ 'device-list': { '15550002222': ['0', '1'] } })
        assert.deepEqual(await keys.get('device-list', ['15550002222']), { '15550002222': ['0', '1'] })

        // A read that starts before a write commits may miss the key; it must not remember it as missing.
        for (let i = 0; i < 20; i++) {
          const id = `race-${i}`
          await Promise.all([keys.get('session', [id]), keys.set({ session: { [id]: Buffer.from([i]) } })])
          assert.ok((await keys.get('session', [id]))[id], `session ${id} is readable after its write`)
        }

        // Deleted, then missing; written again, found again.
        await keys.set({ 'device-list': { '15550002222': null } })
        assert.deepEqual(await keys.get('device-list', ['15550002222']), {})
        await keys.set({ 'device-list': { '15550002222': ['0'] } })
        assert.deepEqual(await keys.get('device-list', ['15550002222']), { '15550002222': ['0'] })
      } finally {
        await db.$disconnect()
      }
    })
  })
}

describe('auth store when the database refuses writes (SQLite made read-only on its connection)', () => {
  test('refused key writes are kept, answered to reads and written later in order: the stored Signal state never falls behind Baileys\' cache', async () => {
    const url = `file:${path.join(tempDir(), 'wsgo.db')}`
    await migrate(url)
    const db = await openClient(url)
    try {
      const store = new AuthStore(db, 'default')
      const state = await store.load()
      // Baileys' own cache in front, as the connection uses it: it takes every write before the store does.
      const keys = makeCacheableSignalKeyStore(state.keys, undefined)
      const v1 = randomBytes(64)
      await keys.set({ session: { 'alice.0': v1 }, 'pre-key': { '1': Curve.generateKeyPair() } })

      // The file cannot be written any more (SQLITE_READONLY on every write), as with a full disk or a
      // read-only file. The store's own health would reopen the connection (which ends this fault at
      // once): it is stopped, so only the auth store's retries are at work here.
      storeHealthOf(db).stop()
      await db.$executeRawUnsafe('PRAGMA query_only = ON')
      const v2 = randomBytes(64)
      await keys.set({ session: { 'alice.0': v2 }, 'pre-key': { '1': null } }) // resolves: Baileys has moved on already
      state.creds.me = { id: '15550001111:1@s.whatsapp.net', name: 'Refused' }
      await state.saveCreds()
      assert.equal(store.pendingWrites, 3, 'the refused writes wait in memory')
      const row = await db.authKey.findUnique({ where: { session_type_id: { session: 'default', type: 'session', id: 'alice.0' } } })
      assert.equal(asJson(JSON.parse(row!.value, BufferJSON.reviver)), asJson(v1), 'the database still holds the old ratchet')
      // What a read behind an expired cache gets: the newest state, not the database's older one.
      assert.equal(asJson((await state.keys.get('session', ['alice.0']))['alice.0']), asJson(v2))
      assert.deepEqual(await state.keys.get('pre-key', ['1']), {}, 'a refused delete is a delete for readers')
      const v3 = randomBytes(64)
      await keys.set({ session: { 'alice.0': v3 } })

      // Writable again: the store writes what it kept on its own, newest value per key.
      await db.$executeRawUnsafe('PRAGMA query_only = OFF')
      await waitUntil('the kept writes to reach the database', async () => (store.pendingWrites === 0 ? true : undefined), 5_000)
      const fresh = await openClient(url)
      try {
        const again = await new AuthStore(fresh, 'default').load()
        assert.equal(again.creds.me?.name, 'Refused', 'the refused creds were written')
        assert.equal(asJson((await again.keys.get('session', ['alice.0']))['alice.0']), asJson(v3))
        assert.deepEqual(await again.keys.get('pre-key', ['1']), {})
      } finally {
        await fresh.$disconnect()
      }
    } finally {
      await db.$disconnect()
    }
  })

  test('writes still refused when the store closes are kept for the session\'s next store in the process: its creds and keys come from them, and they are written first', async () => {
    const url = `file:${path.join(tempDir(), 'wsgo.db')}`
    await migrate(url)
    const db = await openClient(url)
    try {
      storeHealthOf(db).stop()
      const unwritten = new UnwrittenKeys()
      const first = new AuthStore(db, 'default', undefined, unwritten)
      const state = await first.load()
      await state.keys.set({ session: { 'alice.0': randomBytes(64) }, 'pre-key': { '1': Curve.generateKeyPair() } })
      await db.$executeRawUnsafe('PRAGMA query_only = ON')
      // Pre-keys Baileys uploaded and a ratchet it moved on, while the database refuses them: then the
      // session closes here (on PostgreSQL, at its lease's expiry).
      const uploaded = Curve.generateKeyPair()
      const ratchet = randomBytes(64)
      await state.keys.set({ session: { 'alice.0': ratchet }, 'pre-key': { '2': uploaded, '1': null } })
      state.creds.me = { id: '15550001111:1@s.whatsapp.net', name: 'Kept' }
      await state.saveCreds()
      await first.close()
      assert.equal(unwritten.size, 4, 'what the database refused is kept past the close')

      // The session is this process's again, nobody else owned it meanwhile, and the database still refuses.
      const second = new AuthStore(db, 'default', undefined, unwritten)
      const again = await second.load()
      assert.equal(unwritten.size, 0, 'taken by the next store')
      assert.equal(again.creds.me?.name, 'Kept', 'the kept creds, not the database\'s older ones')
      assert.equal(asJson((await again.keys.get('session', ['alice.0']))['alice.0']), asJson(ratchet))
      assert.equal(asJson((await again.keys.get('pre-key', ['2']))['2']), asJson(uploaded))
      assert.deepEqual(await again.keys.get('pre-key', ['1']), {})

      await db.$executeRawUnsafe('PRAGMA query_only = OFF')
      await waitUntil('the kept writes to reach the database', async () => (second.pendingWrites === 0 ? true : undefined), 5_000)
      const stored = await new AuthStore(db, 'default').load()
      assert.equal(stored.creds.me?.name, 'Kept')
      assert.equal(asJson((await stored.keys.get('pre-key', ['2']))['2']), asJson(uploaded))
      assert.equal(asJson((await stored.keys.get('session', ['alice.0']))['alice.0']), asJson(ratchet))
      await second.close()
    } finally {
      await db.$disconnect()
    }
  })
})

test('fresh creds are Baileys\' initAuthCreds shape', async () => {
  const creds = initAuthCreds()
  const round = JSON.parse(asJson(creds), BufferJSON.reviver)
  assert.equal(asJson(round), asJson(creds))
})
