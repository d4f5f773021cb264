// GET /api/contacts is bounded (issue 18, item 11: 100,000 contacts came back as one 18.7 MB answer)
// and pages by cursor, with a search; the contacts table holds each person once (LID rows folded into
// the phone-number row when the mapping is learnt), so a page is a plain range scan.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createTRPCClient, httpBatchLink } from '@trpc/client'
import type { AppRouter } from '../src/client.js'
import { MAX_CONTACTS_PAGE } from '../src/routers/contacts.js'
import { ContactBook } from '../src/session/contacts.js'
import { startTestService, type TestService } from './support/service.js'

type Contact = { jid: string; lid: string | null; phone: string | null; name: string | null; notify: string | null }

const TOTAL = 2_500
const phoneOf = (i: number) => `5730${String(i).padStart(8, '0')}`

describe('GET /api/contacts with many contacts', () => {
  let service: TestService
  let book: ContactBook
  const get = async (query: string) => fetch(`${service.url}/api/contacts${query}`)
  const page = async (query: string) => {
    const res = await get(query)
    assert.equal(res.status, 200, await res.clone().text())
    return (await res.json()) as Contact[]
  }

  before(async () => {
    service = await startTestService()
    book = new ContactBook(service.db, 'default')
    await book.load()
    const people = Array.from({ length: TOTAL }, (_, i) => ({ id: `${phoneOf(i)}@s.whatsapp.net`, notify: `Person ${i}` }))
    people[7] = { id: `${phoneOf(7)}@s.whatsapp.net`, notify: 'José Pérez' }
    await book.upsert(people)
  })
  after(() => service.close())

  test('a call without paging gets one bounded page, not every contact', async () => {
    const first = await page('')
    assert.equal(first.length, MAX_CONTACTS_PAGE)
    const sorted = [...first].sort((a, b) => (a.jid < b.jid ? -1 : 1))
    assert.deepEqual(first, sorted, 'in JID order')
  })

  test('paging with `after` returns every contact exactly once', async () => {
    const seen: string[] = []
    let cursor = ''
    for (let round = 0; round < 100; round++) {
      const rows = await page(`?limit=700${cursor ? `&after=${encodeURIComponent(cursor)}` : ''}`)
      seen.push(...rows.map((c) => c.jid))
      if (rows.length < 700) break
      cursor = rows.at(-1)!.jid
    }
    assert.equal(seen.length, TOTAL)
    assert.equal(new Set(seen).size, TOTAL)
  })

  test('search ignores case and accents, and finds phone digits', async () => {
    assert.deepEqual((await page('?search=jose%20PEREZ')).map((c) => c.phone), [phoneOf(7)])
    assert.deepEqual((await page(`?search=%2B${phoneOf(2_345)}`)).map((c) => c.notify), ['Person 2345'])
    const many = await page('?search=person&limit=5')
    assert.equal(many.length, 5)
    assert.deepEqual(await page('?search=nobody-by-this-name'), [])
  })

  test('the same page over tRPC and on the per-session path', async () => {
    const trpc = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${service.url}/trpc` })] })
    const viaTrpc = await trpc.contacts.list.query({ limit: 3, after: `${phoneOf(10)}@s.whatsapp.net` })
    assert.deepEqual(
      viaTrpc.map((c) => c.phone),
      [11, 12, 13].map(phoneOf),
    )
    assert.deepEqual(await page('?limit=3'), (await (await fetch(`${service.url}/api/sessions/default/contacts?limit=3`)).json()) as Contact[])
  })

  test('a page size out of range is a 400 that names `limit`', async () => {
    for (const limit of ['0', String(MAX_CONTACTS_PAGE + 1), 'ten']) {
      const res = await get(`?limit=${limit}`)
      assert.equal(res.status, 400, `limit=${limit}`)
      const body = (await res.json()) as { issues?: { path: string }[] }
      assert.deepEqual(
        body.issues?.map((i) => i.path),
        ['limit'],
      )
    }
  })
})

describe('each person once', () => {
  let service: TestService
  before(async () => {
    service = await startTestService()
  })
  after(() => service.close())

  const LID = '99887766554433@lid'
  const PN = '573001112233@s.whatsapp.net'

  test('a LID-only contact is folded into the phone-number contact when the mapping is learnt', async () => {
    const book = new ContactBook(service.db, 'default')
    await book.load()
    await book.upsert([{ id: LID, notify: 'Bob' }])
    await book.upsert([{ id: PN, name: 'Bob Jones' }])
    assert.equal((await service.db.contact.count({ where: { session: 'default' } })), 2, 'two rows before the mapping is known')
    await book.rememberMappings([{ lid: LID, pn: PN }])
    const rows = await service.db.contact.findMany({ where: { session: 'default' } })
    assert.deepEqual(
      rows.map((r) => [r.jid, r.lid, r.name, r.notify]),
      [[PN, LID, 'Bob Jones', 'Bob']],
    )
  })

  test('rows written before the rule are folded at load', async () => {
    const lid = '11223344556677@lid'
    const pn = '573004445566@s.whatsapp.net'
    await service.db.contact.create({ data: { session: 'default', jid: lid, lid, notify: 'Carol' } })
    await service.db.lidMapping.create({ data: { session: 'default', lid, pn } })
    await new ContactBook(service.db, 'default').load()
    const list = (await (await fetch(`${service.url}/api/contacts?search=carol`)).json()) as Contact[]
    assert.deepEqual(
      list.map((c) => [c.jid, c.lid, c.phone, c.notify]),
      [[pn, lid, '573004445566', 'Carol']],
    )
  })
})
