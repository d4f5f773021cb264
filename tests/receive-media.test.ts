// Incoming media, from a contact's phone to the API: each image, video (GIF), voice note, audio,
// document and sticker the stand-in sends is downloaded and decrypted by the service through real
// Baileys, announced with a `media` object, and served at GET /api/media/{id} with the sender's
// exact bytes; media over MEDIA_MAX_BYTES is announced as not kept; a failed download keeps its
// event and can be retried.
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { Receiver } from './support/receiver.js'
import { ALICE, startWithStandIn, waitUntil, type WhatsAppHarness } from './support/whatsapp.js'
import { TINY_PNG } from './standin/contact-messages.js'
import { audioMessage, documentWithSize, stickerMessage, unavailableImage, videoMessage } from './standin/message-kinds.js'
import { stopTestDatabases, testDatabases } from './support/databases.js'

const cleanups: Array<() => Promise<unknown>> = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
  await stopTestDatabases()
})
const databases = await testDatabases()

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')
type Delivered = { event: string; data: Record<string, unknown> & { media?: Record<string, unknown> } }

async function start(env: Record<string, string> = {}): Promise<{ h: WhatsAppHarness; receiver: Receiver; events: (type: string) => Delivered[] }> {
  const receiver = await Receiver.start()
  cleanups.push(() => receiver.close())
  const h = await startWithStandIn(env)
  cleanups.push(() => h.close())
  const set = await fetch(`${h.url}/api/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: receiver.url, events: ['message'] }) })
  assert.equal(set.status, 200)
  await h.pair()
  const events = (type: string) => receiver.requests.map((r) => JSON.parse(r.text) as Delivered).filter((e) => e.event === type)
  return { h, receiver, events }
}

for (const database of databases) test(`${database.provider}: every incoming media kind is stored and served with the sender's exact bytes`, { skip: database.skip }, async () => {
  const { h, receiver, events } = await start({ DATABASE_URL: await database.fresh() })
  const files = {
    image: randomBytes(2048),
    video: randomBytes(40_000),
    voice: randomBytes(3000),
    audio: randomBytes(5000),
    document: randomBytes(70_000),
    sticker: randomBytes(1500),
  }
  const ids = {
    image: await h.standin.sendImage(ALICE, { data: files.image, caption: 'a receipt', mimetype: 'image/jpeg' }),
    video: await h.standin.sendMessage(ALICE, await videoMessage(h.standin, files.video, { gifPlayback: true, seconds: 4, caption: 'loop' })),
    voice: await h.standin.sendMessage(ALICE, await audioMessage(h.standin, files.voice, { ptt: true, seconds: 7 })),
    audio: await h.standin.sendMessage(ALICE, await audioMessage(h.standin, files.audio, { mimetype: 'audio/mpeg' })),
    document: await h.standin.sendDocument(ALICE, { data: files.document, fileName: 'report 2026.pdf', caption: 'the report' }),
    sticker: await h.standin.sendMessage(ALICE, await stickerMessage(h.standin, files.sticker)),
  }
  await receiver.waitFor(() => events('message').length >= 6, 15_000)
  const byId = new Map(events('message').map((e) => [e.data.messageID as string, e.data]))

  for (const [kind, id] of Object.entries(ids) as Array<[keyof typeof files, string]>) {
    const data = byId.get(id)
    assert.ok(data, `${kind}: a message event`)
    const bytes = files[kind]
    assert.deepEqual(
      { ...data.media },
      {
        url: `/api/media/${id}`,
        mimetype: data.mimetype,
        size: bytes.length,
        sha256: sha256(bytes),
        available: true,
        ...(kind === 'document' && { fileName: 'report 2026.pdf' }),
      },
      kind,
    )
    const res = await fetch(`${h.url}${data.media!.url as string}`)
    assert.equal(res.status, 200, kind)
    const body = Buffer.from(await res.arrayBuffer())
    assert.equal(sha256(body), sha256(bytes), `${kind}: the same bytes`)
    assert.equal(res.headers.get('content-type'), data.mimetype, kind)
    assert.equal(res.headers.get('content-length'), String(bytes.length), kind)
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="/, kind)
  }
  assert.deepEqual([byId.get(ids.image)!.type, byId.get(ids.image)!.caption], ['image', 'a receipt'])
  assert.deepEqual([byId.get(ids.video)!.type, byId.get(ids.video)!.gifPlayback, byId.get(ids.video)!.seconds], ['video', true, 4])
  assert.deepEqual([byId.get(ids.voice)!.type, byId.get(ids.voice)!.ptt, byId.get(ids.voice)!.seconds], ['audio', true, 7])
  assert.equal(byId.get(ids.audio)!.ptt, undefined)
  assert.equal(byId.get(ids.sticker)!.type, 'sticker')

  // The file name goes in Content-Disposition; the same media per session, and its info.
  const doc = await fetch(`${h.url}/api/sessions/default/media/${ids.document}`)
  assert.equal(doc.status, 200)
  assert.equal(doc.headers.get('content-disposition'), `attachment; filename="report 2026.pdf"; filename*=UTF-8''report%202026.pdf`)
  assert.equal(sha256(Buffer.from(await doc.arrayBuffer())), sha256(files.document))
  const info = (await (await fetch(`${h.url}/api/media/${ids.sticker}/info`)).json()) as Record<string, unknown>
  assert.deepEqual(info, { id: ids.sticker, url: `/api/media/${ids.sticker}`, mimetype: 'image/webp', size: files.sticker.length, sha256: sha256(files.sticker), available: true })

  // Unknown ids are 404, bad ids 400 naming the field, both JSON.
  const missing = await fetch(`${h.url}/api/media/3EB0000000000000DEAD`)
  assert.equal(missing.status, 404)
  assert.equal(((await missing.json()) as { code: string }).code, 'NOT_FOUND')
  const bad = await fetch(`${h.url}/api/media/${encodeURIComponent('no good!')}`)
  assert.equal(bad.status, 400)
  assert.deepEqual(((await bad.json()) as { issues: Array<{ path: string }> }).issues.map((i) => i.path), ['id'])
})

test('media over MEDIA_MAX_BYTES is announced as not kept; a failed download keeps its event and is retried on request', async () => {
  const { h, receiver, events } = await start({ MEDIA_MAX_BYTES: '10kb' })
  // Declared larger than the cap: not downloaded at all.
  const declared = await h.standin.sendMessage(ALICE, await documentWithSize(h.standin, randomBytes(100), 50_000, 'big.bin'))
  // Declared small, but the bytes are larger: the download stops at the cap.
  const actual = await h.standin.sendMessage(ALICE, await documentWithSize(h.standin, randomBytes(20_000), 1_000, 'liar.bin'))
  // Not on the media host (yet): the download fails.
  const pictureBytes = TINY_PNG
  const missing = await unavailableImage(h.standin, pictureBytes)
  const failed = await h.standin.sendMessage(ALICE, missing.message)
  await receiver.waitFor(() => events('message').length >= 3, 15_000)
  const byId = new Map(events('message').map((e) => [e.data.messageID as string, e.data]))

  for (const id of [declared, actual]) {
    const media = byId.get(id)!.media!
    assert.equal(media.available, false)
    assert.match(String(media.error), /larger than MEDIA_MAX_BYTES \(10240 bytes\): not kept/)
    const res = await fetch(`${h.url}/api/media/${id}`)
    assert.equal(res.status, 409)
  }
  const lost = byId.get(failed)!.media!
  assert.equal(lost.available, false)
  assert.match(String(lost.error), /^download failed/)
  assert.equal(lost.sha256, sha256(pictureBytes))

  // WhatsApp has the file again: a retry on request stores it.
  missing.publish()
  const retried = await fetch(`${h.url}/api/media/${failed}/retry`, { method: 'POST' })
  assert.equal(retried.status, 200)
  assert.equal(((await retried.json()) as { available: boolean }).available, true)
  const res = await waitUntil('the retried media', async () => {
    const r = await fetch(`${h.url}/api/media/${failed}`)
    return r.status === 200 ? r : undefined
  })
  assert.equal(sha256(Buffer.from(await res.arrayBuffer())), sha256(pictureBytes))
})
