// GET /api/contacts/{phone} and contacts.get: the stored contact with its business profile and picture,
// asked of the stand-in's WhatsApp (w:biz, w:profile:picture) through real Baileys, and cached.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { trpcError, trpcFor } from './support/sends.js'
import { ALICE, BOB, startWithStandIn, waitUntil, type WhatsAppHarness } from './support/whatsapp.js'

const ALICE_PICTURE = 'https://pps.whatsapp.net/v/t61/alice-preview.jpg'
const BAKERY = { description: 'Fresh bread every morning', category: 'Bakery' }
/** On WhatsApp, never in the address book. */
const CAROL = { phone: '15550004444', lid: '88880004444', pushName: 'Carol' }
/** In the address book, never looked up while connected. */
const DAVE = { phone: '15550005555', lid: '88880005555', pushName: 'Dave' }
const NOBODY = '15550009999'

type Details = {
  jid: string
  lid: string | null
  phone: string | null
  name: string | null
  isBusiness: boolean | null
  business: { description: string | null; category: string | null } | null
  pictureUrl: string | null
  fetched: boolean
}

const getContact = async (url: string, phone: string) => {
  const res = await fetch(`${url}/api/contacts/${encodeURIComponent(phone)}`)
  return { status: res.status, body: (await res.json()) as Details & { code?: string; issues?: { path: string }[] } }
}

describe('one contact', () => {
  let h: WhatsAppHarness
  let trpc: ReturnType<typeof trpcFor>
  before(async () => {
    h = await startWithStandIn()
    h.standin.contact({ ...ALICE, pictureUrl: ALICE_PICTURE })
    h.standin.contact({ ...BOB, business: BAKERY })
    h.standin.contact(DAVE)
    h.standin.setRegistered([CAROL.phone])
    await h.pair()
    trpc = trpcFor(h.url)
    await h.standin.pushContacts([
      { phone: ALICE.phone, name: 'Alice Smith', lid: ALICE.lid },
      { phone: BOB.phone, name: 'Bob the Baker', lid: BOB.lid },
      { phone: DAVE.phone, name: 'Dave', lid: DAVE.lid },
    ])
    await waitUntil('the address book in the store', async () => {
      const list = (await (await fetch(`${h.url}/api/contacts`)).json()) as { name: string | null }[]
      return list.filter((c) => c.name).length === 3 ? true : undefined
    })
  })
  after(() => h.close())

  test('a stored contact with a picture: REST and tRPC agree, and the second call asks WhatsApp nothing', async () => {
    const expected = {
      jid: `${ALICE.phone}@s.whatsapp.net`,
      lid: `${ALICE.lid}@lid`,
      phone: ALICE.phone,
      name: 'Alice Smith',
      notify: null,
      verifiedName: null,
      isBusiness: false,
      business: null,
      pictureUrl: ALICE_PICTURE,
      fetched: true,
    }
    const before = { picture: h.standin.profiles.queries('picture'), business: h.standin.profiles.queries('business') }
    const first = await getContact(h.url, `+1 (555) 000-2222`)
    assert.deepEqual(first, { status: 200, body: expected })
    assert.equal(h.standin.profiles.queries('picture', expected.jid), before.picture + 1)
    assert.equal(h.standin.profiles.queries('business', expected.jid), before.business + 1)

    assert.deepEqual(await trpc.contacts.get.query({ phone: ALICE.phone }), expected)
    // by JID and by LID too: the same person, the same cache entry
    assert.deepEqual((await getContact(h.url, `${ALICE.phone}@s.whatsapp.net`)).body, expected)
    assert.deepEqual((await getContact(h.url, `${ALICE.lid}@lid`)).body, expected)
    assert.equal(h.standin.profiles.queries('picture'), before.picture + 1, 'cached: no second picture query')
    assert.equal(h.standin.profiles.queries('business'), before.business + 1, 'cached: no second business query')
  })

  test('a business account: isBusiness with its description and category; no picture is null', async () => {
    const viaRest = await getContact(h.url, BOB.phone)
    assert.equal(viaRest.status, 200)
    assert.deepEqual(
      { name: viaRest.body.name, isBusiness: viaRest.body.isBusiness, business: viaRest.body.business, pictureUrl: viaRest.body.pictureUrl, fetched: viaRest.body.fetched },
      { name: 'Bob the Baker', isBusiness: true, business: BAKERY, pictureUrl: null, fetched: true },
    )
    assert.deepEqual(await trpc.contacts.get.query({ phone: BOB.phone, session: 'default' }), viaRest.body)
    const perSession = await fetch(`${h.url}/api/sessions/default/contacts/${BOB.phone}`)
    assert.deepEqual([perSession.status, await perSession.json()], [200, viaRest.body])
  })

  test('a number on WhatsApp but not in the address book is answered with its JID and phone', async () => {
    const { status, body } = await getContact(h.url, CAROL.phone)
    assert.equal(status, 200)
    assert.deepEqual(body, {
      jid: `${CAROL.phone}@s.whatsapp.net`,
      lid: null,
      phone: CAROL.phone,
      name: null,
      notify: null,
      verifiedName: null,
      isBusiness: false,
      business: null,
      pictureUrl: null,
      fetched: true,
    })
  })

  test('a number neither stored nor on WhatsApp is a 404; an unknown LID too', async () => {
    const rest = await getContact(h.url, NOBODY)
    assert.deepEqual([rest.status, rest.body.code], [404, 'NOT_FOUND'])
    assert.deepEqual(await trpcError(trpc.contacts.get.query({ phone: NOBODY })), { status: 404, code: 'NOT_FOUND', paths: [] })
    assert.deepEqual((await getContact(h.url, '12345678901234@lid')).status, 404)
  })

  test('a bad phone is a 400 naming phone', async () => {
    for (const bad of ['call me', '123', `${ALICE.phone}@g.us`]) {
      const rest = await getContact(h.url, bad)
      assert.deepEqual([rest.status, rest.body.code, rest.body.issues?.map((i) => i.path)], [400, 'VALIDATION_ERROR', ['phone']], bad)
    }
    assert.deepEqual(await trpcError(trpc.contacts.get.query({ phone: 'call me' })), { status: 400, code: 'VALIDATION_ERROR', paths: ['phone'] })
  })

  // Last: it takes WhatsApp away.
  test('WhatsApp not connected: stored contacts answer with fetched false (or from the cache); unknown numbers are a 503', async () => {
    await h.standin.close()
    await h.waitForStatus((s) => !s.connected)
    const dave = await getContact(h.url, DAVE.phone)
    assert.equal(dave.status, 200)
    assert.deepEqual(
      { name: dave.body.name, lid: dave.body.lid, isBusiness: dave.body.isBusiness, business: dave.body.business, pictureUrl: dave.body.pictureUrl, fetched: dave.body.fetched },
      { name: 'Dave', lid: `${DAVE.lid}@lid`, isBusiness: null, business: null, pictureUrl: null, fetched: false },
    )
    const alice = await getContact(h.url, ALICE.phone)
    assert.deepEqual([alice.status, alice.body.pictureUrl, alice.body.fetched], [200, ALICE_PICTURE, true])
    const unknown = await getContact(h.url, NOBODY)
    assert.deepEqual([unknown.status, unknown.body.code], [503, 'NOT_CONNECTED'])
  })
})
