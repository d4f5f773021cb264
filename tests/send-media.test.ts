// Media sends (issue 15): video, audio, voice notes, stickers, and media fetched from media_url.
// The stand-in's contacts decrypt each message and download its media from the stand-in's media
// host with Baileys' own downloader, so the bytes' sha256 is what their phone would play.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import sharp from 'sharp'
import QRCode from 'qrcode'
import { ALICE, BOB } from './support/whatsapp.js'
import { tempDir } from './support/service.js'
import { ApiError } from '../src/errors.js'
import { fetchMedia } from '../src/session/outgoing/media-source.js'
import { badFields, errorOf, GROUP, pairedForSends, post, postOk, sha256, trpcError, type SendHarness } from './support/sends.js'

/** An ISO-BMFF (MP4) file as far as its signature goes: what the service checks before sending. */
const fakeMp4 = (size = 4096) => Buffer.concat([Buffer.from('0000001c667479706973736f6d0000020069736f6d69736f326d703431', 'hex'), Buffer.alloc(size, 7)])

/** One second of a 440 Hz tone as 16-bit mono WAV. */
function wavTone(seconds = 1, rate = 8000): Buffer {
  const samples = seconds * rate
  const data = Buffer.alloc(samples * 2)
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), i * 2)
  const header = Buffer.alloc(44)
  header.write('RIFF', 0, 'latin1')
  header.writeUInt32LE(36 + data.length, 4)
  header.write('WAVEfmt ', 8, 'latin1')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20) // PCM
  header.writeUInt16LE(1, 22) // mono
  header.writeUInt32LE(rate, 24)
  header.writeUInt32LE(rate * 2, 28)
  header.writeUInt16LE(2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36, 'latin1')
  header.writeUInt32LE(data.length, 40)
  return Buffer.concat([header, data])
}

const isOggOpus = (bytes: Buffer) => bytes.subarray(0, 4).toString('latin1') === 'OggS' && bytes.subarray(0, 128).includes('OpusHead')

let s: SendHarness
let files: Server
let filesUrl: string
const served = new Map<string, { body: Buffer; type: string }>()
const dir = tempDir('wsgo-send-media-')

before(async () => {
  s = await pairedForSends()
  // A file server for media_url: /missing is a 404, /huge declares more than the service fetches.
  files = createServer((req, res) => {
    if (req.url === '/stall') return // headers never come
    if (req.url === '/endless') {
      // chunked, no length declared: only counting the bytes finds it too large
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      const timer = setInterval(() => res.write(Buffer.alloc(512)), 5)
      res.on('close', () => clearInterval(timer))
      return
    }
    if (req.url === '/huge') {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(65 * 1024 * 1024) })
      res.write(Buffer.alloc(1024))
      return
    }
    const file = served.get(req.url ?? '')
    if (!file) return void res.writeHead(404).end('not here')
    res.writeHead(200, { 'content-type': file.type }).end(file.body)
  })
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve))
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`
})
after(async () => {
  files.closeAllConnections()
  await new Promise((resolve) => files.close(resolve))
  await s.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('video', () => {
  test('POST /api/send/video: caption, type and the exact bytes; gif_playback', async () => {
    const video = fakeMp4()
    const answer = await postOk(`${s.h.url}/api/send/video`, { phone: ALICE.phone, video_base64: video.toString('base64'), caption: 'Watch this' })
    assert.equal(answer.status, 'sent')
    assert.equal(answer.chat, `${ALICE.phone}@s.whatsapp.net`)
    assert.equal(answer.phoneJid, `${ALICE.phone}@s.whatsapp.net`)
    assert.equal(answer.lid, `${ALICE.lid}@lid`)
    const out = await s.h.standin.waitForOutgoing((m) => m.id === answer.messageID)
    const message = out.message.videoMessage
    assert.equal(message?.caption, 'Watch this')
    assert.equal(message?.mimetype, 'video/mp4')
    assert.equal(message?.gifPlayback ?? false, false)
    assert.equal(sha256(await s.h.standin.downloadMedia(message!, 'video')), sha256(video))

    const gif = fakeMp4(2048)
    const viaTrpc = await s.trpc.messages.sendVideo.mutate({ phone: BOB.phone, video_base64: gif.toString('base64'), gif_playback: true })
    const gifOut = (await s.h.standin.waitForOutgoing((m) => m.id === viaTrpc.messageID)).message.videoMessage
    assert.equal(gifOut?.gifPlayback, true)
    assert.equal(sha256(await s.h.standin.downloadMedia(gifOut!, 'video')), sha256(gif))
  })

  test('bad video input is a 400 naming the field', async () => {
    const url = `${s.h.url}/api/send/video`
    assert.deepEqual(await badFields(url, { phone: ALICE.phone }), ['video_base64'])
    assert.deepEqual(await badFields(url, { video_base64: fakeMp4().toString('base64') }), ['phone'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, video_base64: Buffer.from('not a video').toString('base64') }), ['video_base64'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, video_base64: fakeMp4().toString('base64'), mime_type: 'audio/mpeg' }), ['mime_type'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, video_base64: fakeMp4().toString('base64'), gif_playback: 'yes' }), ['gif_playback'])
    assert.deepEqual((await trpcError(s.trpc.messages.sendVideo.mutate({ phone: 'abc', video_base64: 'AAAA' }))).paths, ['phone'])
  })
})

describe('audio and voice notes', () => {
  test('POST /api/send/audio: plain audio keeps its bytes and type', async () => {
    const wav = wavTone()
    const answer = await postOk(`${s.h.url}/api/send/audio`, { phone: ALICE.phone, audio_base64: wav.toString('base64') })
    const audio = (await s.h.standin.waitForOutgoing((m) => m.id === answer.messageID)).message.audioMessage
    assert.equal(audio?.mimetype, 'audio/wav')
    assert.equal(audio?.ptt ?? false, false)
    assert.equal(sha256(await s.h.standin.downloadMedia(audio!, 'audio')), sha256(wav))
  })

  test('a voice note in Ogg/Opus is sent as it is, over both interfaces', async () => {
    const oggPath = path.join(dir, 'tone.ogg')
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'libopus', '-f', 'ogg', '-y', oggPath])
    const ogg = readFileSync(oggPath)
    for (const send of [
      async () => (await postOk(`${s.h.url}/api/send/audio`, { phone: ALICE.phone, audio_base64: ogg.toString('base64'), ptt: true })).messageID,
      async () => (await s.trpc.messages.sendAudio.mutate({ chat: `${BOB.phone}@s.whatsapp.net`, audio_base64: ogg.toString('base64'), ptt: true })).messageID,
    ]) {
      const id = await send()
      const audio = (await s.h.standin.waitForOutgoing((m) => m.id === id)).message.audioMessage
      assert.equal(audio?.ptt, true)
      assert.equal(audio?.mimetype, 'audio/ogg; codecs=opus')
      assert.equal(sha256(await s.h.standin.downloadMedia(audio!, 'audio')), sha256(ogg))
    }
  })

  test('a voice note in another format is converted to Ogg/Opus with ffmpeg', async () => {
    const answer = await postOk(`${s.h.url}/api/send/audio`, { phone: ALICE.phone, audio_base64: wavTone(2).toString('base64'), ptt: true })
    const audio = (await s.h.standin.waitForOutgoing((m) => m.id === answer.messageID)).message.audioMessage
    assert.equal(audio?.ptt, true)
    assert.equal(audio?.mimetype, 'audio/ogg; codecs=opus')
    const received = await s.h.standin.downloadMedia(audio!, 'audio')
    assert.ok(isOggOpus(received), 'the phone receives Ogg/Opus')
    assert.equal(sha256(received), Buffer.from(audio!.fileSha256!).toString('hex'))
    // ffprobe reads it back as about two seconds of Opus
    const probePath = path.join(dir, 'received.ogg')
    await import('node:fs/promises').then((fs) => fs.writeFile(probePath, received))
    const probe = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name:format=duration', '-of', 'default=nw=1', probePath]).toString()
    assert.match(probe, /codec_name=opus/)
    assert.ok(Math.abs(Number(/duration=([\d.]+)/.exec(probe)?.[1]) - 2) < 0.2, probe)
  })

  test('without ffmpeg, a voice note that is not Ogg/Opus is a 400 that says why', async () => {
    const path = process.env.PATH
    process.env.PATH = dir // a folder with no ffmpeg in it
    try {
      const error = await errorOf(await post(`${s.h.url}/api/send/audio`, { phone: ALICE.phone, audio_base64: wavTone().toString('base64'), ptt: true }))
      assert.deepEqual([error.status, error.code, error.paths], [400, 'VALIDATION_ERROR', ['audio_base64']])
      assert.match(error.error, /only Ogg\/Opus as a voice note.*ffmpeg.*not installed/)
    } finally {
      process.env.PATH = path
    }
  })

  test('bad audio input is a 400 naming the field', async () => {
    const url = `${s.h.url}/api/send/audio`
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, audio_base64: Buffer.from('plain text').toString('base64') }), ['audio_base64'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, audio_base64: Buffer.from('plain text').toString('base64'), ptt: true }), ['audio_base64'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, audio_base64: wavTone().toString('base64'), mime_type: 'video/mp4' }), ['mime_type'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, audio_base64: wavTone().toString('base64'), ptt: 1 }), ['ptt'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, audio_base64: 'AAAA', media_url: `${filesUrl}/x` }), ['media_url'])
  })
})

describe('stickers', () => {
  test('POST /api/send/sticker: a WebP is sent byte for byte', async () => {
    const webp = await sharp({ create: { width: 512, height: 512, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0.5 } } }).webp().toBuffer()
    const answer = await postOk(`${s.h.url}/api/send/sticker`, { phone: ALICE.phone, sticker_base64: webp.toString('base64') })
    const sticker = (await s.h.standin.waitForOutgoing((m) => m.id === answer.messageID)).message.stickerMessage
    assert.equal(sticker?.mimetype, 'image/webp')
    assert.equal(sticker?.isAnimated ?? false, false)
    assert.equal(sha256(await s.h.standin.downloadMedia(sticker!, 'sticker')), sha256(webp))
  })

  test('messages.sendSticker: a PNG becomes a 512x512 WebP', async () => {
    const png = await QRCode.toBuffer('a sticker', { width: 100 })
    const answer = await s.trpc.messages.sendSticker.mutate({ phone: ALICE.phone, sticker_base64: png.toString('base64') })
    const sticker = (await s.h.standin.waitForOutgoing((m) => m.id === answer.messageID)).message.stickerMessage
    const received = await s.h.standin.downloadMedia(sticker!, 'sticker')
    assert.equal(sha256(received), Buffer.from(sticker!.fileSha256!).toString('hex'))
    const metadata = await sharp(received).metadata()
    assert.deepEqual([metadata.format, metadata.width, metadata.height], ['webp', 512, 512])
  })

  test('bad sticker input is a 400 naming the field', async () => {
    const url = `${s.h.url}/api/send/sticker`
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, sticker_base64: Buffer.from('no image').toString('base64') }), ['sticker_base64'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, sticker_base64: '!!' }), ['sticker_base64'])
    assert.deepEqual(await badFields(url, { chat: 'nobody', sticker_base64: 'AAAA' }), ['chat'])
  })
})

describe('media_url', () => {
  test('the service fetches the file: video, image and document over both interfaces', async () => {
    const video = fakeMp4(10_000)
    served.set('/clip.mp4', { body: video, type: 'video/mp4' })
    const answer = await postOk(`${s.h.url}/api/send/video`, { chat: GROUP.jid, media_url: `${filesUrl}/clip.mp4`, caption: 'from a URL' })
    assert.deepEqual([answer.chat, answer.phoneJid, answer.lid], [GROUP.jid, undefined, undefined])
    const out = await s.h.standin.waitForOutgoing((m) => m.id === answer.messageID)
    assert.equal(out.isGroup, true)
    assert.equal(sha256(await s.h.standin.downloadMedia(out.message.videoMessage!, 'video')), sha256(video))

    const png = await QRCode.toBuffer('fetched image', { width: 64 })
    served.set('/image.png', { body: png, type: 'image/png' })
    const image = await s.trpc.messages.sendImage.mutate({ phone: ALICE.phone, media_url: `${filesUrl}/image.png` })
    const imageOut = (await s.h.standin.waitForOutgoing((m) => m.id === image.messageID)).message.imageMessage
    assert.equal(imageOut?.mimetype, 'image/png')
    assert.equal(sha256(await s.h.standin.downloadMedia(imageOut!, 'image')), sha256(png))

    const pdf = Buffer.from('%PDF-1.4\n% fetched\n%%EOF\n')
    served.set('/report.pdf', { body: pdf, type: 'application/pdf' })
    const doc = await postOk(`${s.h.url}/api/send/document`, { phone: ALICE.phone, media_url: `${filesUrl}/report.pdf`, filename: 'report.pdf' })
    const docOut = (await s.h.standin.waitForOutgoing((m) => m.id === doc.messageID)).message.documentMessage
    assert.equal(sha256(await s.h.standin.downloadMedia(docOut!, 'document')), sha256(pdf))
  })

  test('a URL the service cannot use is a 400; a server that fails it is a 502', async () => {
    const url = `${s.h.url}/api/send/video`
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, media_url: 'file:///etc/passwd' }), ['media_url'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, media_url: 'not a url' }), ['media_url'])
    const huge = await errorOf(await post(url, { phone: ALICE.phone, media_url: `${filesUrl}/huge` }))
    assert.deepEqual([huge.status, huge.paths], [400, ['media_url']])
    assert.match(huge.messages[0] ?? '', /larger than 64 MB/)

    const missing = await errorOf(await post(url, { phone: ALICE.phone, media_url: `${filesUrl}/missing.mp4` }))
    assert.deepEqual([missing.status, missing.code], [502, 'MEDIA_FETCH_FAILED'])
    assert.match(missing.error, /answered 404/)
    const closedPort = `http://127.0.0.1:9/clip.mp4`
    const unreachable = await errorOf(await post(url, { phone: ALICE.phone, media_url: closedPort }))
    assert.deepEqual([unreachable.status, unreachable.code], [502, 'MEDIA_FETCH_FAILED'])
    // the image sniff names the field the bytes came from
    served.set('/not-an-image', { body: Buffer.from('hello'), type: 'image/png' })
    assert.deepEqual(await badFields(`${s.h.url}/api/send/image`, { phone: ALICE.phone, media_url: `${filesUrl}/not-an-image` }), ['media_url'])
  })

  test('the fetch stops at its time limit, and at its size limit also when no length is declared', async () => {
    const limits = { maxBytes: 4096, timeoutMs: 300 }
    const slow = await fetchMedia(`${filesUrl}/stall`, limits).then(
      () => assert.fail('a stalled server must fail the fetch'),
      (error: unknown) => error,
    )
    assert.ok(slow instanceof ApiError)
    assert.deepEqual([slow.errorCode, /no answer within 0.3 s/.test(slow.message)], ['MEDIA_FETCH_FAILED', true])
    const endless = await fetchMedia(`${filesUrl}/endless`, limits).then(
      () => assert.fail('an endless body must fail the fetch'),
      (error: unknown) => error,
    )
    assert.ok(endless instanceof ApiError)
    assert.deepEqual([endless.errorCode, endless.issues?.map((i) => i.path)], ['VALIDATION_ERROR', ['media_url']])
  })
})
