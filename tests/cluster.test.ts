// Several service processes on one PostgreSQL database share the sessions: each session has one
// owner (its WhatsApp socket, its webhook deliveries), any process answers any request (forwarding
// to the owner), a killed process's sessions move to the survivors within the lease time, and a
// process joining takes its share by a clean handover (no 440 "replaced" on WhatsApp).
import { mkdirSync, writeFileSync } from 'node:fs'
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { releaseBaileysTimers, startStandInFleet, type StandInFleet } from './standin/index.js'
import { startServiceProcess, type ServiceProcess } from './support/child.js'
import { stopTestDatabases, testDatabases } from './support/databases.js'
import { Receiver } from './support/receiver.js'
import { ALICE, BOB, waitUntil } from './support/whatsapp.js'

const databases = await testDatabases()
const postgres = databases.find((d) => d.provider === 'postgresql')!
const KEY = 'cluster-admin-key'
const TTL_MS = 3000
const SESSIONS = ['default', 'alpha', 'bravo', 'charlie', 'delta', 'echo']

const processes: ServiceProcess[] = []
const receivers = new Map<string, Receiver>()
let fleet: StandInFleet | undefined
after(async () => {
  await Promise.all(processes.map((p) => p.kill()))
  mkdirSync('tests/.artifacts', { recursive: true })
  for (const [i, p] of processes.entries()) writeFileSync(`tests/.artifacts/cluster-process-${i + 1}.log`, p.output())
  await Promise.all([...receivers.values()].map((r) => r.close()))
  await fleet?.close()
  await stopTestDatabases()
  releaseBaileysTimers()
})

interface Summary {
  name: string
  state: string
  loggedIn: boolean
  device: string
  owner: string | null
}

async function call(service: ServiceProcess, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${service.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'x-api-key': KEY, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(20_000),
  })
  const text = await res.text()
  return { status: res.status, body: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text }
}

const prefix = (session: string) => (session === 'default' ? '/api' : `/api/sessions/${session}`)

/** What each process logged about `session` at info level and above, for a failure's message. */
function logsAbout(session: string): string {
  return processes
    .map((p, i) => {
      const lines = p.output().split('\n').filter((line) => line.includes(`"session":"${session}"`) && !line.includes('"module":"baileys"'))
      const said = lines.map((line) => {
        const { time, msg } = JSON.parse(line) as { time: string; msg: string }
        return `${time.slice(11)} ${msg}`
      })
      return `p${i + 1} (${p.process.pid}): ${said.join('; ') || 'nothing'}`
    })
    .join('\n')
}
const sessionsSeenBy = async (service: ServiceProcess) => (await call(service, '/api/sessions')).body.sessions as Summary[]

test('three processes share six sessions; a killed one fails over, a joining one takes its share with no 440, nothing is lost', { skip: postgres.skip, timeout: 240_000 }, async () => {
  fleet = await startStandInFleet()
  for (const name of SESSIONS) {
    await fleet.add(name)
    receivers.set(name, await Receiver.start())
  }
  const env = {
    DATABASE_URL: await postgres.fresh(),
    API_KEY: KEY,
    WA_WS_URL: fleet.urlTemplate,
    WA_LEASE_TTL_MS: String(TTL_MS),
    RECONNECT_MIN_MS: '100',
    RECONNECT_MAX_MS: '1000',
    SEND_MIN_GAP_MS: '0',
    WEBHOOK_RETRY_MIN_MS: '100',
    WEBHOOK_RETRY_MAX_MS: '1000',
    // Each process's log is kept: on a failure it is written to tests/.artifacts/ to read.
    LOG_LEVEL: 'info',
  }
  const start = async () => {
    const service = await startServiceProcess(env, { trustStandIn: true })
    processes.push(service)
    return service
  }
  const [p1, p2, p3] = [await start(), await start(), await start()]

  // Sessions made through one process, webhooks set through another.
  for (const name of SESSIONS.slice(1)) assert.equal((await call(p1, '/api/sessions', { name })).status, 200)
  for (const name of SESSIONS) {
    const set = await call(p2, `${prefix(name)}/webhook`, { url: `${receivers.get(name)!.url}/${name}` })
    assert.equal(set.status, 200, `${name}: ${JSON.stringify(set.body)}\n${logsAbout(name)}`)
  }
  // Each pairs from a QR read through the third process (forwarded to wherever the session is owned).
  // Sessions are still being spread while they show their first QR: one that moves meanwhile shows a
  // new QR from its new owner, and the phone scans that one, as a person would.
  for (const name of SESSIONS) {
    await waitUntil(`${name} paired`, async () => {
      const res = await fetch(`${p3.url}${prefix(name)}/qr`, { headers: { 'x-api-key': KEY } })
      if (res.status !== 200) return undefined
      const qr = await res.text()
      try {
        await fleet!.get(name)!.scanQr(qr, { pushName: name, platform: 'smba' })
        return true
      } catch {
        return undefined // that QR's socket closed as the session moved: read the new one
      }
    }, 20_000, 100)
  }
  const allLoggedIn = (via: ServiceProcess, owners?: (summary: Summary) => boolean) =>
    waitUntil('every session logged in', async () => {
      const seen = await sessionsSeenBy(via).catch(() => [])
      return seen.length === SESSIONS.length && seen.every((s) => s.loggedIn && s.owner !== null && (!owners || owners(s))) ? seen : undefined
    }, 30_000, 100)
  const perProcess = (seen: Summary[]) => {
    const spread = new Map<string, number>()
    for (const s of seen) spread.set(s.owner!, (spread.get(s.owner!) ?? 0) + 1)
    return [...spread.values()].sort().join(',')
  }
  // The processes joined one by one, so the first ones took more at first: the spread evens out.
  const paired = await allLoggedIn(p1, undefined)
  const even = await waitUntil('two sessions per process', async () => {
    const seen = await sessionsSeenBy(p1).catch(() => [])
    return seen.every((s) => s.loggedIn) && perProcess(seen) === '2,2,2' ? seen : undefined
  }, 20_000, 100).catch(() => undefined)
  assert.ok(even, `sessions per process: ${perProcess(await sessionsSeenBy(p1))} (first seen ${perProcess(paired)})`)

  // A steady flow: each tick one incoming message to a session and one send through a process.
  const expected = new Map<string, Set<string>>(SESSIONS.map((name) => [name, new Set()]))
  const sendResults: Array<{ at: number; status: number; via: string; session: string; took: number; error?: string }> = []
  let tick = 0
  let flowing = true
  // Messages keep coming through the SIGKILL: one the victim was receiving at that instant was not
  // receipted before its event was committed, so WhatsApp (the stand-in) delivers it again to the
  // session's new owner (tests/crash-ack.test.ts holds that path to it).
  const sentAt = new Map<string, number>()
  const timeline: string[] = []
  const mark = (what: string) => timeline.push(`${Date.now()} ${what}`)
  const live = () => processes.filter((p) => p.process.exitCode === null && p.process.signalCode === null)
  const flow = (async () => {
    while (flowing) {
      const name = SESSIONS[tick % SESSIONS.length]!
      const id = await fleet!.get(name)!.sendText(ALICE, `in ${name} ${tick}`)
      expected.get(name)!.add(id)
      sentAt.set(id, Date.now())
      const via = live()[tick % live().length]!
      const began = Date.now()
      const sent = await call(via, `${prefix(name)}/send/text`, { phone: BOB.phone, message: `out ${name} ${tick}` }).catch((error: Error) => ({ status: 0, body: String(error) }))
      const failed = sent.status === 200 ? {} : { error: JSON.stringify(sent.body) }
      sendResults.push({ at: Date.now(), status: sent.status, via: via.url, session: name, took: Date.now() - began, ...failed })
      tick++
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })()
  await new Promise((resolve) => setTimeout(resolve, 2_000))

  // Kill one process: its sessions move to the two survivors within the lease time (plus reconnecting).
  const victimNode = even.find((s) => s.owner!.includes(`:${p1.process.pid}:`))?.owner
  assert.ok(victimNode, 'the first process owned sessions')
  const diedAt = Date.now()
  mark('kill p1')
  await p1.kill()
  await allLoggedIn(p2, (s) => s.owner !== victimNode)
  const failoverMs = Date.now() - diedAt
  console.log(`# failover after SIGKILL: ${failoverMs} ms (lease ${TTL_MS} ms)`)
  assert.ok(failoverMs < TTL_MS + 5_000, `failed over in ${failoverMs} ms`)
  const recovered = Date.now()
  await new Promise((resolve) => setTimeout(resolve, 2_000))

  // A fourth process joins and takes its share: the sessions it takes are handed over cleanly.
  mark('start p4')
  const p4 = await start()
  mark('p4 up')
  const rebalanced = await waitUntil('the newcomer to own its share', async () => {
    const seen = await sessionsSeenBy(p4).catch(() => [])
    const mine = seen.filter((s) => s.owner?.includes(`:${p4.process.pid}:`))
    return seen.length === SESSIONS.length && seen.every((s) => s.loggedIn) && mine.length === 2 ? seen : undefined
  }, 30_000, 100).catch(async (error: Error) => {
    throw new Error(`${error.message}: ${JSON.stringify(await sessionsSeenBy(p4).catch((e) => String(e)))}; p4 is ${p4.process.pid}; timeline: ${timeline.join(', ')}`)
  })
  assert.equal(new Set(rebalanced.map((s) => s.owner)).size, 3)
  await new Promise((resolve) => setTimeout(resolve, 2_000))
  flowing = false
  await flow

  // Sends kept working through every live process once the sessions had moved.
  const afterFailover = sendResults.filter((r) => r.at > recovered)
  assert.ok(afterFailover.length > 20, `${afterFailover.length} sends after the failover`)
  const failed = afterFailover.filter((r) => r.status !== 200)
  // A handover to the newcomer may refuse a send or two with 503 while the session moves; none is a 5xx otherwise.
  const failedWhy = () => `failed sends: ${JSON.stringify(failed)}\n${[...new Set(failed.map((r) => r.session))].map(logsAbout).join('\n')}\ntimeline: ${timeline.join(', ')}`
  assert.ok(failed.every((r) => r.status === 503), failedWhy())
  assert.ok(failed.length <= 4, `${failed.length} sends refused after the failover: ${failedWhy()}`)

  // Every incoming message reached its session's webhook (at least once), and only its own.
  for (const name of SESSIONS) {
    const receiver = receivers.get(name)!
    const delivered = () => new Set(receiver.requests.filter((r) => r.event === 'message').map((r) => JSON.parse(r.text).data.messageID as string))
    const ids = await waitUntil(`${name}'s messages at its webhook`, async () => {
      const got = delivered()
      return [...expected.get(name)!].every((id) => got.has(id)) ? got : undefined
    }, 30_000, 100).catch(async (error: Error) => {
      const missing = [...expected.get(name)!].filter((id) => !delivered().has(id))
      const logged = ((await call(p2, `${prefix(name)}/events?type=message`)).body as Array<{ data: { messageID: string } }>).map((e) => e.data.messageID)
      const receipts = fleet!.get(name)!.receipts().map((r) => JSON.stringify(r)).filter((r) => missing.some((id) => r.includes(id)))
      throw new Error(
        `${error.message}: missing ${missing.map((id) => `${id} (sent at ${sentAt.get(id)})`).join(', ')}; in the event log: ${missing.filter((id) => logged.includes(id)).join(', ') || 'none'}; ` +
          `receipts from the device: ${receipts.join(' ') || 'none'}; timeline: ${timeline.join(', ')}`,
      )
    })
    assert.ok([...ids].every((id) => expected.get(name)!.has(id)), `${name}'s webhook received only its own messages`)
    const elsewhere = receiver.requests.filter((r) => !r.path.endsWith(`/${name}`)).map((r) => `${r.path} ${r.event} ${r.text.slice(0, 120)}`)
    assert.deepEqual(elsewhere, [], `${name}'s deliveries went to its own URL`)
  }
  // No session was ever told 440 (two sockets on one device).
  for (const name of SESSIONS) {
    const events = (await call(p2, `${prefix(name)}/events?type=disconnected`)).body as Array<{ data: { code?: number } }>
    assert.ok(!events.some((e) => e.data.code === 440), `${name} saw a 440: ${JSON.stringify(events)}; timeline: ${timeline.join(', ')}`)
  }
  console.log(`# ${tick} ticks: ${[...expected.values()].reduce((n, s) => n + s.size, 0)} incoming messages delivered, ${sendResults.filter((r) => r.status === 200).length}/${sendResults.length} sends answered 200`)
  await Promise.all(live().map((p) => p.stop()))
})

test('a second process on one SQLite file is refused with a clear message', { timeout: 60_000 }, async () => {
  const sqlite = databases.find((d) => d.provider === 'sqlite')!
  const env = { DATABASE_URL: await sqlite.fresh(), WA_LEASE_TTL_MS: String(TTL_MS) }
  const first = await startServiceProcess(env)
  processes.push(first)
  await assert.rejects(startServiceProcess(env), /SQLite serves one process/)
  assert.equal((await fetch(`${first.url}/health`)).status, 200)
  await first.stop()
})
