// Two service processes on one PostgreSQL database: one owns the WhatsApp connection, the other
// serves the API on standby and takes over, within a bounded time, when the owner dies.
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { releaseBaileysTimers, startStandIn } from './standin/index.js'
import { startServiceProcess, type ServiceProcess } from './support/child.js'
import { stopTestDatabases, testDatabases } from './support/databases.js'
import { waitUntil, type Status } from './support/whatsapp.js'

const databases = await testDatabases()
const postgres = databases.find((d) => d.provider === 'postgresql')!
const processes: ServiceProcess[] = []
after(async () => {
  await Promise.all(processes.map((p) => p.kill()))
  await stopTestDatabases()
  releaseBaileysTimers()
})

const statusOf = async (service: ServiceProcess) => (await (await fetch(`${service.url}/api/status`)).json()) as Status
const waitForStatus = (service: ServiceProcess, predicate: (s: Status) => boolean, timeoutMs = 15_000) =>
  waitUntil('a status', async () => {
    const status = await statusOf(service)
    return predicate(status) ? status : undefined
  }, timeoutMs, 50)

test('a second process on the same PostgreSQL database stays on standby and takes over when the owner dies', { skip: postgres.skip, timeout: 120_000 }, async () => {
  const standin = await startStandIn()
  try {
    const env = { DATABASE_URL: await postgres.fresh(), WA_WS_URL: standin.url, WA_LEASE_TTL_MS: '1500', RECONNECT_MIN_MS: '100', RECONNECT_MAX_MS: '1000' }
    const owner = await startServiceProcess(env, { trustStandIn: true })
    processes.push(owner)
    await waitForStatus(owner, (s) => s.state === 'qr')
    const qr = await (await fetch(`${owner.url}/api/qr`)).text()
    await standin.scanQr(qr, { pushName: 'My Business', platform: 'smba' })
    await waitForStatus(owner, (s) => s.loggedIn)

    const second = await startServiceProcess(env, { trustStandIn: true })
    processes.push(second)
    const standby = await waitForStatus(second, (s) => s.state === 'standby')
    assert.equal(standby.loggedIn, false)
    assert.match(standby.lastDisconnect?.reason ?? '', /another process/)
    // It serves the API (the shared store) but does not talk to WhatsApp.
    assert.equal((await fetch(`${second.url}/api/events?type=connected`)).status, 200)
    const send = await fetch(`${second.url}/api/send/text`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phone: '15550002222', message: 'x' }) })
    assert.equal(send.status, 503)
    assert.equal((await fetch(`${second.url}/api/reconnect`, { method: 'POST' })).status, 409)
    // Several lease periods later the owner is still connected: no 440 fight.
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    assert.equal((await statusOf(owner)).state, 'open')
    assert.equal((await statusOf(second)).state, 'standby')

    const diedAt = Date.now()
    await owner.kill()
    const takenOver = await waitForStatus(second, (s) => s.loggedIn, 20_000)
    const takeoverMs = Date.now() - diedAt
    assert.equal(takenOver.device, '15550001111:1@s.whatsapp.net', 'the same paired device, from the shared store')
    assert.ok(takeoverMs < 1500 + 500 + 5_000, `took over in ${takeoverMs} ms`)
    console.log(`# takeover after the owner's death: ${takeoverMs} ms (lease ttl 1500 ms)`)
    await second.stop()
  } finally {
    await standin.close()
  }
})
