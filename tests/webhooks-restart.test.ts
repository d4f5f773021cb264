// The outbox survives the process: the service is killed with SIGKILL in the middle of 200 pending
// deliveries, started again on the same database, and every event still reaches the receiver
// (duplicates allowed, none missing), each under its one stable X-Wsgo-Delivery id.
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import path from 'node:path'
import { buildServer } from '../scripts/build.mjs'
import { EventLog } from '../src/events/log.js'
import { Outbox, pendingTarget } from '../src/webhooks/outbox.js'
import { openClient, type Db } from '../src/store/database.js'
import { startServiceProcess, type ServiceProcess } from './support/child.js'
import { freePort } from './support/postgres.js'
import { Receiver, until } from './support/receiver.js'
import { tempDir } from './support/service.js'
import { sampleMessage } from './support/fixtures.js'

const children: ServiceProcess[] = []
const cleanups: Array<() => Promise<unknown> | unknown> = []
after(async () => {
  await Promise.all(children.map((child) => child.kill()))
  while (cleanups.length > 0) await cleanups.pop()!()
})

/** The service as `npm start` runs it (the bundle), as a child process; resolves once /health answers. */
async function startChild(env: Record<string, string>): Promise<ServiceProcess> {
  const child = await startServiceProcess(env, { production: true })
  children.push(child)
  return child
}

test('SIGKILL in the middle of 200 pending deliveries: after a restart all 200 arrive, each under its stable id', { timeout: 90_000 }, async () => {
  const dir = tempDir()
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  const hook = await Receiver.start()
  cleanups.push(() => hook.close())
  // Held until all 200 events are written, then slow enough that deliveries are in flight when the process dies.
  let release = () => {}
  const gate = new Promise<void>((resolve) => (release = resolve))
  let open = false
  hook.script = () => (open ? { status: 200, delayMs: 25 } : { status: 200, hold: gate })

  const env = {
    PORT: String(await freePort()),
    HOST: '127.0.0.1',
    DATABASE_URL: `file:${path.join(dir, 'wsgo.db')}`,
    LOG_LEVEL: 'warn',
    // Nothing listens there: the WhatsApp side stays disconnected.
    WA_WS_URL: 'ws://127.0.0.1:9/ws/chat',
    WEBHOOK_RETRY_MIN_MS: '20',
    WEBHOOK_RETRY_MAX_MS: '200',
    // The killed process's lease on the session expires soon: the restart need not wait long for it.
    WA_LEASE_TTL_MS: '1500',
  }
  await buildServer()
  const first = await startChild(env)
  const set = await fetch(`${first.url}/api/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: hook.url, events: ['message'], secret: 'restart-secret' }),
  })
  assert.equal(set.status, 200)

  // 200 events written to the same database by this process, as the service itself would (one
  // transaction each, outbox row included); the running service finds them on its next look.
  let db: Db = await openClient(env.DATABASE_URL)
  cleanups.push(() => db.$disconnect())
  const log = new EventLog(db, 'default', 500, new Outbox(db, 'default'))
  // Rows for the webhook the service made of that POST: written pending, its worker claims them.
  const webhook = await db.webhook.findFirstOrThrow({ where: { session: 'default' }, orderBy: { position: 'asc' } })
  log.useOutbox({ targets: () => [pendingTarget(webhook.id)] })
  const ids: string[] = []
  for (let i = 0; i < 200; i++) ids.push((await log.record('message', sampleMessage(i))).deliveryId!)
  open = true
  release()

  await hook.waitFor((r) => r.length >= 40, 20_000, '40 deliveries')
  await first.kill()
  assert.deepEqual(await first.exited, { code: null, signal: 'SIGKILL' })

  const seenBeforeKill = hook.requests.length
  const rows = await db.webhookDelivery.findMany({ select: { id: true, status: true } })
  const byStatus = (status: string) => rows.filter((row) => row.status === status).map((row) => row.id)
  const interrupted = byStatus('delivering')
  assert.ok(interrupted.length > 0, 'deliveries were in flight when the process died')
  assert.ok(byStatus('pending').length > 100, `${byStatus('pending').length} still pending`)
  assert.equal(byStatus('delivered').length + byStatus('pending').length + interrupted.length, 200)
  // The start-up migration step waits for exclusive access to the SQLite file: let go of it meanwhile.
  await db.$disconnect()

  const second = await startChild(env)
  db = await openClient(env.DATABASE_URL)
  await until(async () => {
    const state = (await (await fetch(`${second.url}/api/webhook`)).json()) as { delivered: number; pending: number }
    return state.delivered === 200 && state.pending === 0
  }, 'all 200 delivered after the restart', 30_000, 50)

  // Every event arrived with a 2xx answer, under the id it was given when it was recorded.
  const payloads = new Map((await db.webhookDelivery.findMany({ select: { id: true, payload: true } })).map((row) => [row.id, row.payload]))
  const delivered = new Set(hook.delivered.map((r) => r.deliveryId))
  assert.deepEqual([...ids].filter((id) => !delivered.has(id)), [], 'none missing')
  for (const request of hook.requests) {
    assert.ok(payloads.has(request.deliveryId), `unknown delivery id ${request.deliveryId}`)
    assert.equal(request.text, payloads.get(request.deliveryId), 'the same bytes on every attempt')
    assert.equal(request.event, 'message')
  }
  // What was in flight at the kill went out again after the restart: at least once.
  const afterRestart = new Set(hook.requests.slice(seenBeforeKill).map((r) => r.deliveryId))
  assert.deepEqual(interrupted.filter((id) => !afterRestart.has(id)), [])
  assert.ok(hook.requests.length >= 200)
  const events = (await (await fetch(`${second.url}/api/events?type=webhook_failed`)).json()) as unknown[]
  assert.deepEqual(events, [])

  // A graceful stop this time.
  second.process.kill('SIGTERM')
  assert.deepEqual(await second.exited, { code: 0, signal: null }, second.output())
})
