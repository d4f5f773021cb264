// Every operation of the contract, through plain fetch on its REST path and through @trpc/client,
// against the running service paired with the local WhatsApp stand-in through real Baileys.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { PNG } from 'pngjs'
import QRCode from 'qrcode'
import { decodeQrPng } from './support/qr.js'
import { errorOf, GROUP, post, trpcError, trpcFor } from './support/sends.js'
import { ALICE, BOB, OWN, startWithStandIn, waitUntil, type WhatsAppHarness } from './support/whatsapp.js'

describe('before pairing', () => {
  let h: WhatsAppHarness
  before(async () => {
    h = await startWithStandIn()
    await h.waitForStatus((s) => s.state === 'qr')
  })
  after(() => h.close())

  test('GET /api/qr: raw text by default', async () => {
    const res = await fetch(`${h.url}/api/qr`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/)
    assert.match(await res.text(), /^https:\/\/wa\.me\/settings\/linked_devices#/)
  })

  test('GET /api/qr?format=image is a real PNG that decodes to the current code', async () => {
    const res = await fetch(`${h.url}/api/qr?format=image`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'image/png')
    const bytes = Buffer.from(await res.arrayBuffer())
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    const png = PNG.sync.read(bytes)
    assert.ok(png.width >= 256 && png.width === png.height, `${png.width}x${png.height}`)
    const current = await (await fetch(`${h.url}/api/qr`)).text()
    assert.equal(decodeQrPng(bytes), current)
  })

  test('GET /api/qr?format=base64 and tRPC session.qr: JSON with the PNG and the code', async () => {
    const res = await fetch(`${h.url}/api/qr?format=base64`)
    assert.equal(res.status, 200)
    const body = (await res.json()) as { qr: string; image_base64: string; mime_type: string }
    assert.equal(body.mime_type, 'image/png')
    assert.equal(decodeQrPng(Buffer.from(body.image_base64, 'base64')), body.qr)
    const viaTrpc = await trpcFor(h.url).session.qr.query({ format: 'base64' })
    assert.equal(viaTrpc.qr, body.qr)
    assert.equal((await errorOf(await fetch(`${h.url}/api/qr?format=gif`))).paths[0], 'format')
  })

  test('status before pairing, on both interfaces', async () => {
    const rest = (await (await fetch(`${h.url}/api/status`)).json()) as Record<string, unknown>
    assert.equal(rest.loggedIn, false)
    assert.equal(rest.state, 'qr')
    const viaTrpc = await trpcFor(h.url).session.status.query()
    assert.equal(viaTrpc.loggedIn, false)
  })

  test('sending, groups and check-phone while not paired are a 503 that says so', async () => {
    const text = await errorOf(await post(`${h.url}/api/send/text`, { phone: ALICE.phone, message: 'hi' }))
    assert.deepEqual({ status: text.status, code: text.code }, { status: 503, code: 'NOT_CONNECTED' })
    assert.match(text.error, /not connected/)
    assert.equal((await errorOf(await fetch(`${h.url}/api/groups`))).status, 503)
    assert.equal((await errorOf(await post(`${h.url}/api/check-phone`, { phones: [ALICE.phone] }))).status, 503)
    assert.deepEqual(await trpcError(trpcFor(h.url).messages.sendText.mutate({ phone: ALICE.phone, message: 'hi' })), {
      status: 503,
      code: 'NOT_CONNECTED',
      paths: [],
    })
  })
})

describe('paired', () => {
  let h: WhatsAppHarness
  let trpc: ReturnType<typeof trpcFor>
  before(async () => {
    h = await startWithStandIn()
    h.standin.contact(ALICE)
    h.standin.contact(BOB)
    h.standin.setRegistered([ALICE.phone, BOB.phone])
    h.standin.setGroups([{ ...GROUP, participants: [ALICE, BOB] }])
    await h.pair({ pushName: 'My Business', platform: 'smba' })
    trpc = trpcFor(h.url)
  })
  after(() => h.close())

  test('GET /api/status and session.status', async () => {
    const expected = { connected: true, loggedIn: true, device: OWN.device, pushName: 'My Business', platform: 'smba', state: 'open', lastDisconnect: null }
    assert.deepEqual(await (await fetch(`${h.url}/api/status`)).json(), expected)
    assert.deepEqual(await trpc.session.status.query(), expected)
  })

  test('GET /api/qr when paired is a 409', async () => {
    assert.deepEqual((await errorOf(await fetch(`${h.url}/api/qr`))).code, 'ALREADY_PAIRED')
    assert.equal((await trpcError(trpc.session.qr.query({}))).status, 409)
  })

  test('POST /api/send/text and messages.sendText reach the contact', async () => {
    const res = await post(`${h.url}/api/send/text`, { phone: '+1 555 000 2222', message: 'Hello from wsgo!' })
    assert.equal(res.status, 200)
    const body = (await res.json()) as { status: string; messageID: string; timestamp: string }
    assert.equal(body.status, 'sent')
    assert.match(body.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
    const out = await h.standin.waitForOutgoing((m) => m.id === body.messageID)
    assert.equal(out.text, 'Hello from wsgo!')
    assert.match(out.to, /^(15550002222@s\.whatsapp\.net|88880002222@lid)$/)

    const viaTrpc = await trpc.messages.sendText.mutate({ phone: '0015550003333', message: 'Hi Bob' })
    assert.equal((await h.standin.waitForOutgoing((m) => m.id === viaTrpc.messageID)).text, 'Hi Bob')
  })

  test('bad phones and messages are 400s naming the field', async () => {
    for (const phone of ['abc', '123', '1234567890123456', '+57 300 ABC 4567']) {
      const error = await errorOf(await post(`${h.url}/api/send/text`, { phone, message: 'x' }))
      assert.deepEqual([error.status, error.code, error.paths], [400, 'VALIDATION_ERROR', ['phone']], phone)
      assert.match(error.error, /7 to 15 digits/)
    }
    assert.deepEqual((await errorOf(await post(`${h.url}/api/send/text`, { phone: ALICE.phone }))).paths, ['message'])
    assert.deepEqual((await errorOf(await post(`${h.url}/api/send/text`, { phone: ALICE.phone, message: '' }))).paths, ['message'])
    assert.deepEqual((await trpcError(trpc.messages.sendText.mutate({ phone: 'abc', message: 'x' }))).paths, ['phone'])
  })

  test('POST /api/send/image: sniffed type, caption, the bytes arrive intact', async () => {
    const png = await QRCode.toBuffer('an image to send', { width: 64 })
    const res = await post(`${h.url}/api/send/image`, { phone: ALICE.phone, image_base64: png.toString('base64'), caption: 'Check this out!' })
    assert.equal(res.status, 200, await res.clone().text())
    const { messageID } = (await res.json()) as { messageID: string }
    const out = await h.standin.waitForOutgoing((m) => m.id === messageID)
    const image = out.message.imageMessage
    assert.equal(image?.caption, 'Check this out!')
    assert.equal(image?.mimetype, 'image/png')
    assert.deepEqual(await h.standin.downloadMedia(image!, 'image'), png)

    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(64)])
    const viaTrpc = await trpc.messages.sendImage.mutate({ phone: BOB.phone, image_base64: jpeg.toString('base64'), mime_type: 'image/jpeg' })
    assert.equal((await h.standin.waitForOutgoing((m) => m.id === viaTrpc.messageID)).message.imageMessage?.mimetype, 'image/jpeg')
  })

  test('an image that is not base64 or not an image is a 400', async () => {
    assert.deepEqual((await errorOf(await post(`${h.url}/api/send/image`, { phone: ALICE.phone, image_base64: 'not base64 !!' }))).paths, ['image_base64'])
    const text = Buffer.from('just some text, not an image').toString('base64')
    const notImage = await errorOf(await post(`${h.url}/api/send/image`, { phone: ALICE.phone, image_base64: text }))
    assert.deepEqual([notImage.status, notImage.paths], [400, ['image_base64']])
    assert.match(notImage.error, /not a JPEG, PNG, GIF or WebP/)
  })

  test('POST /api/send/document: file name, type, caption and bytes', async () => {
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n')
    const res = await post(`${h.url}/api/send/document`, {
      phone: ALICE.phone,
      document_base64: pdf.toString('base64'),
      filename: 'report.pdf',
      caption: 'Monthly report',
    })
    assert.equal(res.status, 200, await res.clone().text())
    const { messageID } = (await res.json()) as { messageID: string }
    const doc = (await h.standin.waitForOutgoing((m) => m.id === messageID)).message.documentMessage
    assert.equal(doc?.fileName, 'report.pdf')
    assert.equal(doc?.mimetype, 'application/pdf')
    assert.equal(doc?.caption, 'Monthly report')
    assert.deepEqual(await h.standin.downloadMedia(doc!, 'document'), pdf)

    const viaTrpc = await trpc.messages.sendDocument.mutate({ phone: ALICE.phone, document_base64: 'aGVsbG8=', filename: 'hello.txt', mime_type: 'text/plain' })
    assert.equal((await h.standin.waitForOutgoing((m) => m.id === viaTrpc.messageID)).message.documentMessage?.fileName, 'hello.txt')
    assert.deepEqual((await errorOf(await post(`${h.url}/api/send/document`, { phone: ALICE.phone, document_base64: 'aGVsbG8=' }))).paths, ['filename'])
  })

  test('GET /api/groups and groups.list', async () => {
    const expected = [{ jid: GROUP.jid, name: 'Work Group', topic: 'Project discussion', participants: 3, createdAt: '2024-01-15T10:00:00.000Z' }]
    assert.deepEqual(await (await fetch(`${h.url}/api/groups`)).json(), expected)
    assert.deepEqual(await trpc.groups.list.query(), expected)
  })

  test('POST /api/send/group and messages.sendGroup; a non-group JID is a 400', async () => {
    const res = await post(`${h.url}/api/send/group`, { group_jid: GROUP.jid, message: 'Hello group!' })
    assert.equal(res.status, 200, await res.clone().text())
    const { messageID } = (await res.json()) as { messageID: string }
    const out = await h.standin.waitForOutgoing((m) => m.id === messageID)
    assert.equal(out.isGroup, true)
    assert.equal(out.to, GROUP.jid)
    assert.equal(out.text, 'Hello group!')
    const viaTrpc = await trpc.messages.sendGroup.mutate({ group_jid: GROUP.jid, message: 'again' })
    assert.equal((await h.standin.waitForOutgoing((m) => m.id === viaTrpc.messageID)).text, 'again')

    const bad = await errorOf(await post(`${h.url}/api/send/group`, { group_jid: `${ALICE.phone}@s.whatsapp.net`, message: 'x' }))
    assert.deepEqual([bad.status, bad.paths], [400, ['group_jid']])
  })

  test('POST /api/check-phone and contacts.checkPhones: in order, normalised, at most 50', async () => {
    const phones = ['+1 555 000 2222', '0015550009999', '(1) 555-000-3333']
    const expected = [
      { query: '+1 555 000 2222', jid: '15550002222@s.whatsapp.net', isOnWhatsApp: true },
      { query: '0015550009999', jid: '15550009999@s.whatsapp.net', isOnWhatsApp: false },
      { query: '(1) 555-000-3333', jid: '15550003333@s.whatsapp.net', isOnWhatsApp: true },
    ]
    assert.deepEqual(await (await post(`${h.url}/api/check-phone`, { phones })).json(), expected)
    assert.deepEqual(await trpc.contacts.checkPhones.mutate({ phones }), expected)
    assert.deepEqual((await errorOf(await post(`${h.url}/api/check-phone`, { phones: ['15550002222', 'call me'] }))).paths, ['phones.1'])
    const tooMany = await errorOf(await post(`${h.url}/api/check-phone`, { phones: Array.from({ length: 51 }, (_, i) => `1555000${1000 + i}`) }))
    assert.deepEqual([tooMany.status, tooMany.paths], [400, ['phones']])
    assert.deepEqual((await errorOf(await post(`${h.url}/api/check-phone`, { phones: [] }))).paths, ['phones'])
  })

  test('GET /api/contacts and contacts.list: from the address book, with name, push name and phone', async () => {
    await h.standin.pushContacts([{ phone: ALICE.phone, name: 'Alice Smith', lid: ALICE.lid }])
    await h.standin.sendText(BOB, 'hi, I am Bob')
    type Contact = { jid: string; name: string | null; notify: string | null; phone: string | null; lid: string | null }
    const contacts = await waitUntil('both contacts', async () => {
      const list = (await (await fetch(`${h.url}/api/contacts`)).json()) as Contact[]
      const alice = list.find((c) => c.jid === `${ALICE.phone}@s.whatsapp.net`)
      const bob = list.find((c) => c.jid === `${BOB.phone}@s.whatsapp.net`)
      return alice?.name && bob?.notify ? { alice, bob, list } : undefined
    })
    assert.equal(contacts.alice.name, 'Alice Smith')
    assert.equal(contacts.alice.phone, ALICE.phone)
    assert.equal(contacts.bob.notify, 'Bob')
    assert.equal(contacts.list.filter((c) => c.phone === BOB.phone).length, 1, 'one entry per person, LID merged')
    const viaTrpc = await trpc.contacts.list.query()
    assert.ok(viaTrpc.some((c) => c.name === 'Alice Smith'))
  })

  test('webhook set/get and events list on both interfaces', async () => {
    const set = await post(`${h.url}/api/webhook`, { url: 'https://example.com/webhook/whatsapp' })
    assert.equal(set.status, 200)
    assert.equal(((await (await fetch(`${h.url}/api/webhook`)).json()) as { url: string }).url, 'https://example.com/webhook/whatsapp')
    await trpc.webhook.set.mutate({ url: null })
    assert.equal((await trpc.webhook.get.query()).url, null)
    assert.deepEqual((await errorOf(await post(`${h.url}/api/webhook`, { url: 'javascript:alert(1)' }))).paths, ['url'])

    const events = (await (await fetch(`${h.url}/api/events?limit=2`)).json()) as Array<{ id: number; type: string }>
    assert.equal(events.length, 2)
    assert.ok(events[0]!.id > events[1]!.id, 'newest first')
    const connected = await trpc.events.list.query({ type: 'connected' })
    assert.ok(connected.length >= 1 && connected.every((e) => e.type === 'connected'))
  })

  test('reconnect and logout through tRPC', async () => {
    assert.equal((await trpc.session.reconnect.mutate()).status, 'reconnecting')
    await h.waitForStatus((s) => s.loggedIn)
    assert.equal((await trpc.session.logout.mutate()).status, 'logged_out')
    await h.waitForStatus((s) => s.state === 'qr')
  })
})

test('the OpenAPI document lists every operation of the contract with its schemas', async () => {
  const h = await startWithStandIn()
  try {
    const document = (await (await fetch(`${h.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> }; responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>
    }
    const operations: Array<[string, string, boolean]> = [
      ['get', '/health', false],
      ['get', '/api/status', false],
      ['get', '/api/qr', false],
      ['post', '/api/reconnect', false],
      ['post', '/api/logout', false],
      ['post', '/api/send/text', true],
      ['post', '/api/send/image', true],
      ['post', '/api/send/document', true],
      ['get', '/api/groups', false],
      ['post', '/api/send/group', true],
      ['get', '/api/contacts', false],
      ['post', '/api/check-phone', true],
      ['post', '/api/webhook', true],
      ['get', '/api/webhook', false],
      ['get', '/api/events', false],
    ]
    for (const [method, path, hasBody] of operations) {
      const operation = document.paths[path]?.[method]
      assert.ok(operation, `${method.toUpperCase()} ${path} is documented`)
      assert.ok(operation.responses['200']?.content?.['application/json']?.schema, `${path} has a response schema`)
      if (hasBody) assert.ok(operation.requestBody?.content['application/json']?.schema, `${path} has a request schema`)
    }
    assert.ok(document.paths['/api/qr']?.get?.responses['200']?.content?.['image/png'], 'the PNG answer is documented')
    const sendText = JSON.stringify(document.paths['/api/send/text']?.post?.requestBody)
    assert.match(sendText, /"phone"/)
    assert.match(sendText, /"message"/)
  } finally {
    await h.close()
  }
})
