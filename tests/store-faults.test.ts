// Store faults are states, not guesses (issue 18 #6): a full disk, PostgreSQL stopped, a data
// directory removed. Each puts the service in a `degraded` state named in /health (503) and
// /api/status, keeps WhatsApp connected where no other process can take over (SQLite), answers
// reads 503 STORE_UNAVAILABLE instead of an opaque 500, and ends without a restart.
import { after, afterEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { startTestPostgres, type TestPostgres } from './support/postgres.js'
import { startTestService, tempDir } from './support/service.js'
import { captureLog } from './support/log-capture.js'
import { ALICE, startWithStandIn, waitUntil, type WhatsAppHarness } from './support/whatsapp.js'

let harness: WhatsAppHarness | undefined
const mounts: string[] = []
afterEach(async () => {
  await harness?.close()
  harness = undefined
  for (const dir of mounts.splice(0)) execFileSync('umount', ['-l', dir])
})

let postgres: TestPostgres | { skipped: string } | undefined
after(async () => {
  if (postgres && !('skipped' in postgres)) await postgres.stop()
})

/** A directory on a tmpfs of `size` (e.g. '16m'), so the test can fill it; undefined when mounting is not allowed. */
function smallDisk(size: string): string | undefined {
  const dir = tempDir('wsgo-small-disk-')
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' })
  } catch {
    return undefined
  }
  mounts.push(dir)
  return dir
}

/** Fills the disk `dir` is on, leaving nothing free; returns the file to remove to free it again. */
function fill(dir: string): string {
  const filler = path.join(dir, 'filler')
  try {
    for (let i = 0; ; i++) writeFileSync(filler, Buffer.alloc(1024 * 1024), { flag: 'a' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
  }
  return filler
}

const getJson = async (url: string) => {
  const res = await fetch(url)
  return { status: res.status, body: (await res.json()) as any }
}

type Health = { status: number; body: { status?: string; error?: string; code?: string } }
const health = (h: WhatsAppHarness): Promise<Health> => getJson(`${h.url}/health`)
const messageIds = async (h: WhatsAppHarness) => ((await getJson(`${h.url}/api/events?type=message`)).body as Array<{ data: { messageID: string } }>).map((e) => e.data.messageID)

const canMount = smallDisk('1m') !== undefined
for (const dir of mounts.splice(0)) execFileSync('umount', ['-l', dir])

test('a full disk (SQLite): degraded with the cause, WhatsApp stays connected past the lease time, and it all resumes once there is room, without a restart', { skip: !canMount && 'needs root to mount a size-limited tmpfs', timeout: 90_000 }, async () => {
  const disk = smallDisk('24m')!
  const log = captureLog('info')
  const h = (harness = await startWithStandIn({ DATABASE_URL: `file:${path.join(disk, 'data', 'wsgo.db')}`, WA_LEASE_TTL_MS: '1000' }, { service: { logger: log.logger } }))
  await h.pair()
  const first = await h.standin.sendText(ALICE, 'before the disk fills')
  await waitUntil('the first message', async () => ((await messageIds(h)).includes(first) ? true : undefined))
  assert.deepEqual((await health(h)).body, { status: 'ok' })

  const filler = fill(disk)
  // A message bigger than any free page: recording it needs room the disk does not have.
  await h.standin.sendText(ALICE, `while the disk is full ${'x'.repeat(200_000)}`)
  const degraded = await waitUntil('/health to say the store is degraded', async () => {
    const answer = await health(h)
    return answer.status === 503 ? answer : undefined
  })
  assert.equal(degraded.body.code, 'STORE_UNAVAILABLE')
  assert.match(degraded.body.error!, /full/)
  const status = (await getJson(`${h.url}/api/status`)).body
  assert.equal(status.store.status, 'degraded')
  assert.equal(status.store.cause, 'full')
  assert.match(status.store.reason, /full/)

  // Several lease lifetimes without a renewal: on SQLite no other process can take the session,
  // so it is not closed.
  const handshakes = h.standin.clientVersions().length
  await new Promise((resolve) => setTimeout(resolve, 3_500))
  const during = (await getJson(`${h.url}/api/status`)).body
  assert.equal(during.loggedIn, true, JSON.stringify(during))
  assert.equal(during.state, 'open')
  assert.equal(h.standin.clientVersions().length, handshakes, 'no new connection: the socket was never closed')
  assert.equal(log.lines.some((line) => /another process/.test(line)), false, 'nothing says another process took over')

  rmSync(filler)
  await waitUntil('/health to be ok again', async () => ((await health(h)).status === 200 ? true : undefined), 10_000)
  assert.equal((await getJson(`${h.url}/api/status`)).body.store, undefined, 'a healthy status is exactly the contract\'s')
  const next = await h.standin.sendText(ALICE, 'after the disk has room again')
  await waitUntil('a message after the episode', async () => ((await messageIds(h)).includes(next) ? true : undefined))

  // The Signal state written during and after the episode is the one in the database: after a
  // restart, Alice's messages still decrypt.
  await h.restart()
  await h.waitForStatus((s) => s.loggedIn)
  const later = await h.standin.sendText(ALICE, 'after a restart')
  await waitUntil('a message after the restart', async () => ((await messageIds(h)).includes(later) ? true : undefined))
})

test('the data directory removed under a running service (SQLite): noticed, written back from the open database, and still paired with its webhook after a restart', { timeout: 60_000 }, async () => {
  const dir = tempDir()
  const data = path.join(dir, 'data')
  mkdirSync(data)
  const h = (harness = await startWithStandIn({ DATABASE_URL: `file:${path.join(data, 'wsgo.db')}` }))
  await h.pair()
  const set = await fetch(`${h.url}/api/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: 'https://example.com/hook' }) })
  assert.equal(set.status, 200)
  const states: string[] = []
  h.service.services.sessions.storeHealth.onChange((state) => states.push(state.status === 'ok' ? 'ok' : `degraded:${state.fault.kind}`))

  rmSync(data, { recursive: true, force: true })
  await waitUntil('the file to be back', async () => (existsSync(path.join(data, 'wsgo.db')) && states.at(-1) === 'ok' ? true : undefined), 10_000)
  assert.deepEqual(states, ['degraded:removed', 'ok'])
  // Written after the file came back: it must land in the restored file, not the deleted one.
  const after = await h.standin.sendText(ALICE, 'after the directory came back')
  await waitUntil('the message', async () => ((await messageIds(h)).includes(after) ? true : undefined))

  await h.restart()
  const status = await h.waitForStatus((s) => s.loggedIn)
  assert.equal(status.device.length > 0, true)
  assert.equal((await getJson(`${h.url}/api/webhook`)).body.url, 'https://example.com/hook')
  assert.ok((await messageIds(h)).includes(after))
})

test('PostgreSQL stopped and started again: degraded with the real cause, reads answer 503 naming it, the session closes at its lease expiry saying why, and comes back on its own', { timeout: 120_000 }, async (t) => {
  // A server of its own: npm test's shared one (TEST_DATABASE_URL) serves other files meanwhile.
  postgres ??= await startTestPostgres({ own: true })
  if ('skipped' in postgres) return t.skip(postgres.skipped)
  if (!postgres.pause || !postgres.resume) throw new Error('a server of its own can be stopped and started')
  const log = captureLog('info')
  const h = (harness = await startWithStandIn({ DATABASE_URL: await postgres.createDatabase(), WA_LEASE_TTL_MS: '2000' }, { service: { logger: log.logger } }))
  await h.pair()
  const node = h.service.services.sessions.ownership.node

  await postgres.pause()
  const events = await getJson(`${h.url}/api/events`)
  assert.equal(events.status, 503, JSON.stringify(events.body))
  assert.equal(events.body.code, 'STORE_UNAVAILABLE')
  assert.match(events.body.error, /cannot be reached/)
  const degraded = await waitUntil('/health to say why', async () => {
    const answer = await health(h)
    return answer.status === 503 ? answer : undefined
  })
  assert.match(degraded.body.error!, /database server cannot be reached/)
  // Another process could take the session once its lease expires, so it is closed here, and its
  // status says the database is why, not another process.
  const closed = await h.waitForStatus((s) => !s.loggedIn, 10_000)
  assert.equal(closed.state, 'standby')
  assert.match(closed.lastDisconnect!.reason, /database is unavailable/)
  assert.equal((closed as unknown as { store: { cause: string } }).store.cause, 'unreachable')
  assert.equal(log.lines.some((line) => line.includes('another process') && line.includes(node)), false, 'never "another process" with its own id')

  await postgres.resume()
  await waitUntil('/health to be ok again', async () => ((await health(h)).status === 200 ? true : undefined), 15_000)
  await h.waitForStatus((s) => s.loggedIn, 20_000)
  const next = await h.standin.sendText(ALICE, 'after PostgreSQL came back')
  await waitUntil('a message after PostgreSQL came back', async () => ((await messageIds(h)).includes(next) ? true : undefined))
})

test('a SQLite connection that can only read (as one opened on a read-only file): degraded read-only, and a reopened connection ends it without a restart', { timeout: 30_000 }, async () => {
  const service = await startTestService()
  try {
    // The service's own connection refuses writes from now on (SQLITE_READONLY), as it does when it
    // opened a file it may not write; only a new connection can write again.
    await service.db.$executeRawUnsafe('PRAGMA query_only = ON')
    const set = await fetch(`${service.url}/api/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: 'https://example.com/hook' }) })
    assert.equal(set.status, 503)
    const body = (await set.json()) as { code: string; error: string }
    assert.equal(body.code, 'STORE_UNAVAILABLE')
    assert.match(body.error, /read-only/)
    const states: string[] = []
    service.services.sessions.storeHealth.onChange((state) => states.push(state.status))
    await waitUntil('/health to be ok again', async () => ((await fetch(`${service.url}/health`)).status === 200 ? true : undefined), 10_000)
    assert.deepEqual(states, ['ok'])
    const again = await fetch(`${service.url}/api/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: 'https://example.com/hook' }) })
    assert.equal(again.status, 200)
  } finally {
    await service.close()
  }
})
