// Log storms: a contact whose messages cannot be decrypted, 10,000 times over. The service (a
// process of its own, so what is measured is the service alone) keeps answering, its log stays
// short (repeated lines are summarised with a count), and its memory stays bounded.
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { releaseBaileysTimers, startStandIn } from './standin/index.js'
import { startServiceProcess, type ServiceProcess } from './support/child.js'
import { tempDir } from './support/service.js'
import { ALICE, waitUntil } from './support/whatsapp.js'

const cleanups: Array<() => Promise<unknown>> = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
  releaseBaileysTimers()
})

const rssMb = (service: ServiceProcess) => {
  const status = readFileSync(`/proc/${service.process.pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024
}
type Logged = { data: { messageID: string; text: string } }
const messages = async (service: ServiceProcess) => (await (await fetch(`${service.url}/api/events?type=message&limit=50`)).json()) as Logged[]
const arrived = (service: ServiceProcess, id: string, timeoutMs = 10_000) =>
  waitUntil(`the message ${id}`, async () => (await messages(service)).find((m) => m.data.messageID === id), timeoutMs, 100)

test('10,000 undecryptable messages: the service keeps answering, the log stays short, memory stays bounded', { timeout: 300_000 }, async () => {
  const standin = await startStandIn()
  cleanups.push(() => standin.close())
  const service = await startServiceProcess(
    {
      DATABASE_URL: `file:${tempDir()}/wsgo.db`,
      WA_WS_URL: standin.url,
      LOG_LEVEL: 'info',
      // Baileys paces its retry receipts 250 ms apart, one at a time: 10,000 would take 40 minutes.
      WA_RETRY_REQUEST_DELAY_MS: '0',
    },
    { trustStandIn: true },
  )
  cleanups.push(() => service.stop())
  await waitUntil('a QR', async () => {
    const res = await fetch(`${service.url}/api/qr`)
    return res.status === 200 ? standin.scanQr(await res.text()) : undefined
  })
  await waitUntil('logged in', async () => ((await (await fetch(`${service.url}/api/status`)).json()) as { loggedIn: boolean }).loggedIn || undefined)
  await arrived(service, await standin.sendText(ALICE, 'hello before the storm'))
  const rssBefore = rssMb(service)
  const linesBefore = service.output().split('\n').length

  const started = Date.now()
  let stormOver = false
  let slowest = 0
  const probeFailures: string[] = []
  const probing = (async () => {
    let probes = 0
    while (!stormOver) {
      const t = Date.now()
      try {
        const res = await fetch(`${service.url}/api/status`)
        await res.arrayBuffer()
        if (res.status !== 200) probeFailures.push(`status ${res.status}`)
      } catch (error) {
        probeFailures.push(String((error as Error).cause ?? error))
      }
      slowest = Math.max(slowest, Date.now() - t)
      probes++
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    return probes
  })()
  let peakRss = rssBefore
  try {
    // Like WhatsApp's server, the stand-in hands them over in batches and waits for the device to
    // answer (its retry receipt for the batch's last message) before sending more.
    for (let sent = 0; sent < 10_000; sent += 250) {
      const ids = standin.sendUndecryptable(ALICE, 250)
      await standin.waitForReceipt(ids.at(-1)!, 60_000)
      peakRss = Math.max(peakRss, rssMb(service))
    }
    await arrived(service, await standin.sendText(ALICE, 'hello after the storm'), 120_000)
  } finally {
    stormOver = true
  }
  const probes = await probing
  await new Promise((resolve) => setTimeout(resolve, 3_000))
  const rssAfter = rssMb(service)
  const lines = service.output().split('\n').slice(linesBefore - 1).filter(Boolean)
  const growth = peakRss - rssBefore
  console.log(`# storm: ${Date.now() - started} ms, ${lines.length} log lines, ${probes} status probes (slowest ${slowest} ms), RSS ${rssBefore.toFixed(0)} -> peak ${peakRss.toFixed(0)} -> ${rssAfter.toFixed(0)} MB after`)

  mkdirSync('tests/.artifacts', { recursive: true })
  writeFileSync('tests/.artifacts/log-storm.log', lines.join('\n')) // for a person to read
  assert.deepEqual(probeFailures, [], 'the API answered throughout')
  assert.ok(lines.length < 300, `${lines.length} log lines for 10,000 failures`)
  assert.ok(lines.some((l) => l.includes('(repeated)') && l.includes('"suppressed"')), 'suppressed lines are summarised with a count')
  // Baileys works through each batch without yielding much; V8 grows its heap for it (about
  // +170-200 MB measured at the peak here). Unbounded growth would show as far more than this.
  assert.ok(growth < 300, `RSS grew by ${growth.toFixed(0)} MB`)
  const texts = (await messages(service)).map((m) => m.data.text)
  assert.deepEqual(texts, ['hello after the storm', 'hello before the storm'], 'nothing undecryptable became an event')
})
