// The Idempotency-Key across the processes of a PostgreSQL cluster: a send that reaches a process
// that does not own its session is forwarded to the owner with its key (a REST header travels as the
// tRPC `idempotencyKey` field), and the owner keeps the key's record. So the same key through either
// process is one message and one answer, and a different request with it is refused whichever
// process it reaches. "One message" is read on the stand-in's side: its phones decrypt every message
// the device sends.
import { mkdirSync, writeFileSync } from 'node:fs'
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { releaseBaileysTimers, startStandIn, type StandIn } from './standin/index.js'
import { startServiceProcess, type ServiceProcess } from './support/child.js'
import { stopTestDatabases, testDatabases } from './support/databases.js'
import { ALICE, waitUntil } from './support/whatsapp.js'

const databases = await testDatabases()
const postgres = databases.find((d) => d.provider === 'postgresql')!
const KEY = 'idempotency-cluster-admin-key'

const processes: ServiceProcess[] = []
let standin: StandIn | undefined
after(async () => {
  await Promise.all(processes.map((p) => p.kill()))
  mkdirSync('tests/.artifacts', { recursive: true })
  for (const [i, p] of processes.entries()) writeFileSync(`tests/.artifacts/idempotency-cluster-process-${i + 1}.log`, p.output())
  await standin?.close()
  await stopTestDatabases()
  releaseBaileysTimers()
})

type Answer = { status: number; body: { messageID?: string; code?: string; error?: string; issues?: Array<{ path: string }> } }

async function sendText(service: ServiceProcess, body: unknown, key: string): Promise<Answer> {
  const res = await fetch(`${service.url}/api/send/text`, {
    method: 'POST',
    headers: { 'x-api-key': KEY, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  })
  return { status: res.status, body: (await res.json()) as Answer['body'] }
}

type Summary = { name: string; loggedIn: boolean; owner: string | null }
const defaultSession = async (via: ServiceProcess) => {
  const res = await fetch(`${via.url}/api/sessions`, { headers: { 'x-api-key': KEY } })
  return ((await res.json()) as { sessions: Summary[] }).sessions.find((s) => s.name === 'default')
}

test('the same Idempotency-Key through the owner and through the other process: one message, one answer; another body is 409 from either', { skip: postgres.skip, timeout: 120_000 }, async () => {
  standin = await startStandIn()
  standin.contact(ALICE)
  standin.setRegistered([ALICE.phone])
  const env = {
    DATABASE_URL: await postgres.fresh(),
    API_KEY: KEY,
    WA_WS_URL: standin.url,
    WA_LEASE_TTL_MS: '3000',
    RECONNECT_MIN_MS: '100',
    RECONNECT_MAX_MS: '1000',
    SEND_MIN_GAP_MS: '0',
    LOG_LEVEL: 'info',
  }
  for (let i = 0; i < 2; i++) processes.push(await startServiceProcess(env, { trustStandIn: true }))
  const [first, second] = processes as [ServiceProcess, ServiceProcess]

  // Pairs from a QR read through the second process (forwarded if the first owns the session). One
  // session over two processes that joined one after the other may still move once: a QR whose
  // socket closed meanwhile is read again, as a person would.
  await waitUntil('the session paired', async () => {
    const res = await fetch(`${second.url}/api/qr`, { headers: { 'x-api-key': KEY } })
    if (res.status !== 200) return undefined
    try {
      await standin!.scanQr(await res.text(), { pushName: 'Cluster', platform: 'smba' })
      return true
    } catch {
      return undefined
    }
  }, 30_000, 100)
  // Which process owns it: its node id names its pid.
  const owned = await waitUntil('the session logged in at its owner', async () => {
    const seen = await defaultSession(first).catch(() => undefined)
    return seen?.loggedIn && seen.owner ? seen.owner : undefined
  }, 30_000, 100)
  const found = processes.find((p) => owned.split(':')[1] === String(p.process.pid))
  assert.ok(found, `the owner ${owned} is one of the two processes`)
  const owner: ServiceProcess = found
  const other: ServiceProcess = owner === first ? second : first

  const decryptedIds = async (text: string) => {
    await standin!.waitForOutgoing((m) => m.text === text)
    await new Promise((resolve) => setTimeout(resolve, 300))
    return new Set(standin!.outbox().filter((m) => m.text === text).map((m) => m.id))
  }
  const stamp = Date.now()
  // Through the other process first (forwarded with its key), then through the owner; and the
  // other way round with another key.
  for (const [label, a, b] of [['other, then owner', other, owner], ['owner, then other', owner, other]] as const) {
    const key = `cluster-${label.replaceAll(/\W+/g, '-')}-${stamp}`
    const body = { phone: ALICE.phone, message: `cluster idempotent: ${label}` }
    const viaA = await sendText(a, body, key)
    assert.equal(viaA.status, 200, `${label}, first: ${JSON.stringify(viaA.body)}`)
    const viaB = await sendText(b, body, key)
    assert.equal(viaB.status, 200, `${label}, second: ${JSON.stringify(viaB.body)}`)
    assert.deepEqual(viaB.body, viaA.body, `${label}: the second process answers what the first did`)
    assert.deepEqual([...(await decryptedIds(body.message))], [viaA.body.messageID], `${label}: one message`)

    // The same key with another body, through either process: refused, nothing sent.
    for (const via of [other, owner]) {
      const refused: Answer = await sendText(via, { ...body, message: `${body.message} (changed)` }, key)
      assert.deepEqual([refused.status, refused.body.code], [409, 'CONFLICT'], `${label}, changed body via the ${via === owner ? 'owner' : 'other process'}`)
      assert.deepEqual(refused.body.issues?.map((issue) => issue.path), ['Idempotency-Key'])
    }
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(standin.outbox().filter((m) => m.text === `${body.message} (changed)`).length, 0)
  }
  assert.equal(standin.errors().length, 0, `the stand-in failed: ${standin.errors().join('; ')}`)
})
