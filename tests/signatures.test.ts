// Issue 18, item 12: Baileys 7.0.0-rc14's `Curve.verify` (lib/Utils/crypto.js) called libsignal's
// `verifySignature` and ignored the boolean it returns, so every signature "verified": the Noise
// certificate chain of the server and the ADV account signature of pairing were accepted whatever
// they were. scripts/patch-baileys.mjs makes it return that boolean (applied at install and by the
// build). These tests hold whatever Baileys is installed to it, through the service as users run it:
// in-process (the sources, as `npm run dev`) and the built bundle (`npm start`).
import { after, afterEach, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { Curve } from '@whiskeysockets/baileys'
import { buildServer } from '../scripts/build.mjs'
import { BAILEYS_CRYPTO_FILE, inspectBaileysCrypto, patchBaileysCrypto } from '../scripts/patch-baileys.mjs'
import { nextStepAfterClose } from '../src/session/reconnect-policy.js'
import { captureLog } from './support/log-capture.js'
import { releaseBaileysTimers, startStandIn, type StandIn, type StandInOptions } from './standin/index.js'
import { TestDevice } from './standin/test-device.js'
import { startServiceProcess, type ServiceProcess } from './support/child.js'
import { tempDir } from './support/service.js'
import { OWN, startWithStandIn, waitUntil, type Status, type WhatsAppHarness } from './support/whatsapp.js'

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  releaseBaileysTimers()
})

/** The service in-process against a stand-in, its log (warn and up) kept as lines of JSON. */
async function serviceWithLog(standin: StandInOptions = {}) {
  const { lines, logger } = captureLog('warn')
  const harness = await startWithStandIn({}, { standin, service: { logger } })
  cleanups.push(() => harness.close())
  return { harness, log: () => lines.join('') }
}

const statusOf = async (h: WhatsAppHarness) => (await (await fetch(`${h.url}/api/status`)).json()) as Status

/** Waits until the service has tried WhatsApp `attempts` times and been refused each time. */
async function refusedRepeatedly(h: WhatsAppHarness, log: () => string, detail: string, attempts = 3) {
  return waitUntil(`${attempts} refused connection attempts`, async () => {
    const tries = log().split('\n').filter((line) => line.includes(detail)).length
    return tries >= attempts ? statusOf(h) : undefined
  })
}

test('Curve.verify rejects a signature by another key or over other bytes, and accepts the right one', () => {
  const signer = Curve.generateKeyPair()
  const other = Curve.generateKeyPair()
  const message = Buffer.from('certificate details')
  const signature = Buffer.from(Curve.sign(signer.private, message))
  assert.equal(Curve.verify(signer.public, message, signature), true)
  assert.equal(Curve.verify(other.public, message, signature), false, 'signed by another key')
  assert.equal(Curve.verify(signer.public, Buffer.from('certificate detailz'), signature), false, 'over other bytes')
  const flipped = Buffer.from(signature)
  flipped[10]! ^= 1
  assert.equal(Curve.verify(signer.public, message, flipped), false, 'a damaged signature')
})

test('a server whose certificate chain is signed by the wrong root is refused: no QR, no registration, a 400 in /api/status', async () => {
  const { harness: h, log } = await serviceWithLog({ certificateChain: 'wrong-root' })
  const status = await refusedRepeatedly(h, log, 'noise intermediate certificate signature invalid')
  assert.equal(status.connected, false)
  assert.equal(status.loggedIn, false)
  assert.notEqual(status.state, 'qr')
  assert.equal(status.lastDisconnect?.code, 400, 'Baileys ends the handshake with a 400')
  // Said as what it is, not as "could not reach WhatsApp" (the server was reached, and refused):
  // with what to do, and still retried with backoff (refusedRepeatedly saw several attempts).
  assert.match(status.lastDisconnect?.reason ?? '', /^WhatsApp's certificate could not be verified/)
  assert.match(status.lastDisconnect?.reason ?? '', /WA_WS_URL/)
  assert.doesNotMatch(status.lastDisconnect?.reason ?? '', /could not reach/)
  assert.equal(status.state, 'closed')
  assert.equal((await fetch(`${h.url}/api/qr`)).status !== 200, true, 'no QR is offered')
  // The client never finished the handshake: it sent no ClientPayload (no keys, no registration).
  assert.deepEqual(h.standin.clientVersions(), [])
})

test('the same service with the right chain is accepted: it shows a QR and pairs', async () => {
  const { harness: h, log } = await serviceWithLog()
  await h.pair()
  const status = await h.waitForStatus((s) => s.loggedIn)
  assert.equal(status.device, OWN.device)
  assert.doesNotMatch(log(), /signature invalid|Failed to verify/)
})

test('a chain whose leaf is not signed by its intermediate is refused (bare Baileys socket)', async () => {
  const standin = await startStandIn({ certificateChain: 'wrong-intermediate' })
  cleanups.push(() => standin.close())
  const device = new TestDevice()
  cleanups.push(() => device.end())
  device.connect(standin)
  const closed = await device.waitFor('connection.update', (u) => u.connection === 'close')
  assert.equal((closed.lastDisconnect?.error as Error | undefined)?.message, 'noise certificate signature invalid')
  assert.equal(device.events('connection.update').some((u) => !!u.qr), false, 'no QR was shown')
  assert.deepEqual(standin.clientVersions(), [])
})

test("each of Baileys' certificate refusals is told as one, and retried; other early closes still say WhatsApp could not be reached", () => {
  for (const detail of ['noise certificate signature invalid', 'noise intermediate certificate signature invalid', 'invalid noise leaf certificate', 'invalid noise intermediate certificate', 'certification match failed']) {
    const step = nextStepAfterClose(400, { paired: true, reachedWhatsApp: false, detail })
    assert.equal(step.action, 'reconnect-later', detail)
    assert.match(step.reason, /^WhatsApp's certificate could not be verified/, detail)
    assert.ok(step.reason.includes(detail), 'the refusal in Baileys\' words is kept')
  }
  assert.deepEqual(nextStepAfterClose(408, { paired: true, reachedWhatsApp: false, detail: 'Connection Failure' }), { action: 'reconnect-later', reason: 'could not reach WhatsApp' })
})

test('a pair-success whose account signature does not verify is refused; a genuine one then pairs', async () => {
  const { harness: h, log } = await serviceWithLog()
  const firstQr = await waitUntil('a QR at GET /api/qr', async () => {
    const res = await fetch(`${h.url}/api/qr`)
    return res.status === 200 ? res.text() : undefined
  })
  // The HMAC over the identity is right (the QR's adv secret), only the account signature is forged.
  await assert.rejects(h.standin.scanQr(firstQr, { pushName: 'Forger', forgeAccountSignature: true }), /disconnected before pairing finished/)
  assert.equal(h.standin.directory.linkedDevices.size, 0, 'the companion never counter-signed')
  await waitUntil('the refusal in the log', async () => (log().includes('Failed to verify account signature') ? true : undefined))
  const refused = await statusOf(h)
  assert.equal(refused.loggedIn, false)
  assert.equal(refused.device, '', 'no identity was taken from the forged approval')

  // The service reconnects with its own keys and shows a fresh QR; the genuine phone pairs.
  const nextQr = await waitUntil('a fresh QR', async () => {
    const res = await fetch(`${h.url}/api/qr`)
    const text = res.status === 200 ? await res.text() : undefined
    return text && text !== firstQr ? text : undefined
  })
  const paired = await h.standin.scanQr(nextQr, { pushName: 'My Business', platform: 'smba' })
  await h.standin.waitForLogin()
  const status = await h.waitForStatus((s) => s.loggedIn)
  assert.equal(status.device, `${OWN.phone}:${paired.deviceId}@s.whatsapp.net`)
})

// ---- npm start: the bundle runs the installed (patched) Baileys ------------------------------------

const processes: ServiceProcess[] = []
const dirs: string[] = []
const standins: StandIn[] = []
before(async () => {
  await buildServer()
})
after(async () => {
  await Promise.all(processes.map((p) => p.kill()))
  await Promise.all(standins.map((s) => s.close()))
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

async function builtServiceAgainst(standin: StandIn) {
  const dir = tempDir('wsgo-signatures-')
  dirs.push(dir)
  const env = { DATABASE_URL: `file:${path.join(dir, 'wsgo.db')}`, WA_WS_URL: standin.url, LOG_LEVEL: 'warn', RECONNECT_MIN_MS: '50', RECONNECT_MAX_MS: '500' }
  const service = await startServiceProcess(env, { production: true, trustStandIn: true })
  processes.push(service)
  return service
}

test('the built service (npm start) refuses the wrong root and accepts the right one', { timeout: 60_000 }, async () => {
  const forged = await startStandIn({ certificateChain: 'wrong-root' })
  const genuine = await startStandIn()
  standins.push(forged, genuine)
  const [refusing, accepting] = await Promise.all([builtServiceAgainst(forged), builtServiceAgainst(genuine)])

  const refused = await waitUntil('a refused handshake', async () => {
    const s = (await (await fetch(`${refusing.url}/api/status`)).json()) as Status
    return s.lastDisconnect && refusing.output().includes('noise intermediate certificate signature invalid') ? s : undefined
  }, 20_000)
  assert.equal(refused.lastDisconnect?.code, 400)
  assert.match(refused.lastDisconnect?.reason ?? '', /^WhatsApp's certificate could not be verified/)
  assert.equal(refused.state === 'qr' || refused.connected, false)
  assert.deepEqual(forged.clientVersions(), [])

  const shown = await waitUntil('a QR from the genuine stand-in', async () => {
    const s = (await (await fetch(`${accepting.url}/api/status`)).json()) as Status
    return s.state === 'qr' ? s : undefined
  }, 20_000)
  assert.equal(shown.connected, true)
  assert.equal(genuine.clientVersions().length >= 1, true)
})

// ---- the install step ------------------------------------------------------------------------------

test('the installed Baileys carries the patch, and the patch step is idempotent and refuses code it does not know', () => {
  assert.equal(inspectBaileysCrypto(), 'patched', 'npm install (postinstall) patched node_modules')
  const dir = tempDir('wsgo-patch-')
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  const copy = path.join(dir, 'crypto.js')
  copyFileSync(BAILEYS_CRYPTO_FILE, copy)
  const patched = readFileSync(copy, 'utf8')
  // Back to the text Baileys ships: the step patches it, then leaves it alone.
  writeFileSync(copy, patched.replace(/verify: \(pubKey, message, signature\) => \{[\s\S]*?\n {4}\}\n\};/, ORIGINAL_VERIFY))
  assert.match(readFileSync(copy, 'utf8'), /curve\.verifySignature\(generateSignalPubKey\(pubKey\), message, signature\);\n {12}return true;/)
  assert.equal(patchBaileysCrypto(copy), 'patched')
  assert.equal(readFileSync(copy, 'utf8'), patched)
  assert.equal(patchBaileysCrypto(copy), 'already patched')
  assert.equal(readFileSync(copy, 'utf8'), patched)
  // A Baileys whose Curve.verify changed is not patched blindly: the install fails and says so.
  writeFileSync(copy, patched.replace(/verify: \(pubKey, message, signature\) => \{[\s\S]*?\n {4}\}\n\};/, 'verify: () => true\n};'))
  assert.throws(() => patchBaileysCrypto(copy), /Curve\.verify/)
})

/** Curve.verify as @whiskeysockets/baileys 7.0.0-rc14 ships it. */
const ORIGINAL_VERIFY = `verify: (pubKey, message, signature) => {
        try {
            curve.verifySignature(generateSignalPubKey(pubKey), message, signature);
            return true;
        }
        catch (error) {
            return false;
        }
    }
};`
