// A store that fails at start-up (issue 18 #6, "store faults are states, not guesses"), as the
// service's own process:
// - a read-only SQLite file starts the service degraded (/health 503 naming the cause, /api/status
//   saying read-only) instead of refusing to start, and it recovers without a restart once the file
//   is writable again;
// - a database path that cannot be created is one start-up sentence and a non-zero exit, at once;
// - SIGTERM stops the process promptly in every start-up phase that can wait.
//
// Read-only as root: the tests run as root, and root ignores file modes (chmod 0444 changes nothing
// for it). The immutable attribute (`chattr +i`, ext2/3/4, XFS, Btrfs) binds root too: opening the
// file for writing fails with EPERM, so SQLite opens it read-only and every write fails with
// SQLITE_READONLY, exactly as for a 0444 file owned by another user. It needs CAP_LINUX_IMMUTABLE
// and a file system that keeps the attribute (not tmpfs); without them the tests say they were skipped.
import { after, afterEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { DatabasePathError, ensureDatabaseDirectory } from '../src/store/database-directory.js'
import { freePort } from './support/postgres.js'
import { startServiceProcess } from './support/child.js'
import { startTestService, tempDir } from './support/service.js'
import { ALICE, startWithStandIn, waitUntil, type WhatsAppHarness } from './support/whatsapp.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

const immutable: string[] = []
const dirs: string[] = []
const children: ChildProcess[] = []
let harness: WhatsAppHarness | undefined
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  for (const file of immutable.splice(0)) writable(file)
  await harness?.close()
  harness = undefined
})
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function readOnly(file: string): void {
  execFileSync('chattr', ['+i', file], { stdio: 'pipe' })
  immutable.push(file)
}

function writable(file: string): void {
  execFileSync('chattr', ['-i', file], { stdio: 'pipe' })
}

/** Whether `chattr +i` works here (root with CAP_LINUX_IMMUTABLE, on a file system that keeps it). */
const canMakeImmutable = (() => {
  const dir = tempDir('wsgo-chattr-')
  dirs.push(dir)
  const file = path.join(dir, 'probe')
  writeFileSync(file, 'x')
  try {
    execFileSync('chattr', ['+i', file], { stdio: 'pipe' })
  } catch {
    return false
  }
  try {
    writeFileSync(file, 'y')
    return false // the attribute did not stop a write: it proves nothing here
  } catch {
    return true
  } finally {
    execFileSync('chattr', ['-i', file], { stdio: 'pipe' })
  }
})()
const needsImmutable = !canMakeImmutable && 'needs `chattr +i` (root with CAP_LINUX_IMMUTABLE on ext4/XFS/Btrfs) to make a file read-only for root'

interface Child {
  process: ChildProcess
  url: string
  output(): string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/**
 * `npm run dev`'s command as a child, without waiting for it to be healthy (a degraded start answers
 * /health with 503). With `trustStandIn`, it preloads the stand-in's test root as child.ts does.
 */
async function spawnService(env: Record<string, string>, options: { trustStandIn?: boolean } = {}): Promise<Child> {
  const port = String(await freePort())
  const trust = options.trustStandIn ? ['--import', './tests/standin/trust-test-root.ts'] : []
  const child = spawn(process.execPath, ['--import', 'tsx', ...trust, 'src/server.ts'], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'info', LOG_FORMAT: 'json', WA_WS_URL: 'ws://127.0.0.1:9/ws/chat', ...env, PORT: port },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let output = ''
  child.stdout!.on('data', (d) => (output += d))
  child.stderr!.on('data', (d) => (output += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  return { process: child, url: `http://127.0.0.1:${port}`, output: () => output, exited }
}

/** Resolves with how the child exited, or fails if it is still running after `ms`. */
async function exitWithin(child: Child, ms: number, what: string) {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still running after ${ms} ms\n${child.output()}`)), ms)))
  try {
    return await Promise.race([child.exited, late])
  } finally {
    clearTimeout(timer)
  }
}

const getJson = async (url: string) => {
  const res = await fetch(url)
  return { status: res.status, body: (await res.json()) as any }
}

/** The first answer of /health, whatever its status, once the child listens. */
async function firstHealth(child: Child) {
  return waitUntil(
    'the service to answer /health',
    async () => {
      if (child.process.exitCode !== null) throw new Error(`the service exited with ${child.process.exitCode}:\n${child.output()}`)
      return getJson(`${child.url}/health`).catch(() => undefined)
    },
    30_000,
    50,
  )
}

type LogLine = { level: number; msg: string; cause?: string }
const logLines = (output: string): LogLine[] =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine)

/** A database as a previous run of the service left it (migrated, `default` created). */
async function existingDatabase(): Promise<{ file: string; url: string }> {
  const dir = tempDir('wsgo-startup-')
  dirs.push(dir)
  const file = path.join(dir, 'wsgo.db')
  const url = `file:${file}`
  const service = await startTestService({ DATABASE_URL: url })
  await service.stop()
  return { file, url }
}

test('a read-only SQLite file at start-up (paired): the service starts degraded, says why, and resumes on its own once the file is writable', { skip: needsImmutable, timeout: 90_000 }, async () => {
  const dir = tempDir('wsgo-startup-')
  dirs.push(dir)
  const file = path.join(dir, 'wsgo.db')
  harness = await startWithStandIn({ DATABASE_URL: `file:${file}` })
  await harness.pair()
  await harness.service.stop()

  readOnly(file)
  const child = await spawnService({ DATABASE_URL: `file:${file}`, WA_WS_URL: harness.standin.url, RECONNECT_MIN_MS: '50', RECONNECT_MAX_MS: '500' }, { trustStandIn: true })
  const degraded = await firstHealth(child)
  assert.equal(degraded.status, 503, JSON.stringify(degraded.body))
  assert.equal(degraded.body.code, 'STORE_UNAVAILABLE')
  assert.match(degraded.body.error, /read-only/)
  const status = await getJson(`${child.url}/api/status`)
  assert.equal(status.status, 200, JSON.stringify(status.body))
  assert.equal(status.body.store.status, 'degraded')
  assert.equal(status.body.store.cause, 'read-only')
  assert.match(status.body.store.reason, /read-only/)
  assert.equal(status.body.loggedIn, false)
  // A call that needs the session says why at once: not a 500, not a wait for the store.
  const send = await fetch(`${child.url}/api/send/location`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phone: ALICE.phone, latitude: 1, longitude: 2 }), signal: AbortSignal.timeout(5_000) })
  assert.equal(send.status, 503)
  assert.equal(((await send.json()) as { code: string }).code, 'STORE_UNAVAILABLE')
  // Several probes later it is still up, still saying so, and never claimed another process has the file.
  await new Promise((resolve) => setTimeout(resolve, 2_500))
  assert.equal(child.process.exitCode, null, child.output())
  assert.equal((await getJson(`${child.url}/health`)).status, 503)
  assert.doesNotMatch(child.output(), /another (wsgo )?process/i)

  writable(file)
  await waitUntil('/health to be ok again', async () => ((await getJson(`${child.url}/health`)).status === 200 ? true : undefined), 15_000)
  const connected = await waitUntil('the paired session to connect', async () => {
    const s = (await getJson(`${child.url}/api/status`)).body
    return s.loggedIn ? s : undefined
  }, 30_000)
  assert.equal(connected.store, undefined, "a healthy status is exactly the contract's")
  // Writes work: an incoming message is recorded.
  const id = await harness.standin.sendText(ALICE, 'after the file became writable')
  await waitUntil('the message to be recorded', async () => {
    const events = (await getJson(`${child.url}/api/events?type=message`)).body as Array<{ data: { messageID: string } }>
    return events.some((event) => event.data.messageID === id) ? true : undefined
  }, 15_000)

  child.process.kill('SIGTERM')
  const exit = await exitWithin(child, 10_000, 'SIGTERM after recovery')
  assert.equal(exit.code, 0, child.output())
})

test('a read-only data directory at start-up (no room for the WAL files, nothing can be read): degraded, not refused, and it starts on its own once the directory is writable', { skip: needsImmutable, timeout: 60_000 }, async () => {
  const dir = tempDir('wsgo-startup-')
  dirs.push(dir)
  const data = path.join(dir, 'data')
  const url = `file:${path.join(data, 'wsgo.db')}`
  const service = await startTestService({ DATABASE_URL: url })
  await service.stop()

  readOnly(data)
  const child = await spawnService({ DATABASE_URL: url })
  const degraded = await firstHealth(child)
  assert.equal(degraded.status, 503, JSON.stringify(degraded.body))
  assert.equal(degraded.body.code, 'STORE_UNAVAILABLE')
  assert.match(degraded.body.error, /cannot be opened .*directory must be readable and writable/)
  // Not even the session can be read: the status says why instead of guessing one.
  const status = await getJson(`${child.url}/api/status`)
  assert.equal(status.status, 503, JSON.stringify(status.body))
  assert.equal(status.body.code, 'STORE_UNAVAILABLE')
  assert.doesNotMatch(child.output(), /could not be brought up to date|Refusing to start/)

  writable(data)
  await waitUntil('/health to be ok', async () => ((await getJson(`${child.url}/health`)).status === 200 ? true : undefined), 15_000)
  const after = await waitUntil('the session to have started', async () => {
    const answer = await getJson(`${child.url}/api/status`)
    return answer.status === 200 && answer.body.state !== 'connecting' ? answer.body : undefined
  }, 20_000)
  assert.equal(after.store, undefined)
  child.process.kill('SIGTERM')
  assert.equal((await exitWithin(child, 10_000, 'SIGTERM after recovery')).code, 0, child.output())
})

test('SIGTERM while the store is read-only at start-up stops the process at once', { skip: needsImmutable, timeout: 60_000 }, async () => {
  const { file, url } = await existingDatabase()
  readOnly(file)
  const child = await spawnService({ DATABASE_URL: url })
  assert.equal((await firstHealth(child)).status, 503)
  child.process.kill('SIGTERM')
  const exit = await exitWithin(child, 3_000, 'SIGTERM while degraded at start-up')
  assert.equal(exit.code, 0, child.output())
  assert.ok(logLines(child.output()).some((line) => line.msg === 'stopped during start-up'), child.output())
})

test('a database path that cannot be created (file:/proc/nope/x.db): one sentence naming the path and the cause, and a non-zero exit within seconds', { timeout: 30_000 }, async () => {
  const child = await spawnService({ DATABASE_URL: 'file:/proc/nope/x.db' })
  const exit = await exitWithin(child, 10_000, 'a database path that cannot be created')
  assert.equal(exit.code, 1, child.output())
  assert.doesNotMatch(child.output(), /^\s+at /m, 'no stack trace')
  const fatal = logLines(child.output()).filter((line) => line.level === 60)
  assert.equal(fatal.length, 1, child.output())
  assert.match(fatal[0]!.msg, /\/proc\/nope\/x\.db/)
  assert.match(fatal[0]!.msg, /DATABASE_URL/)
  assert.match(String(fatal[0]!.cause), /\/proc\/nope/)
})

test('SIGTERM while waiting for the lease of a process killed a moment ago stops the process at once', { timeout: 90_000 }, async () => {
  const { url } = await existingDatabase()
  // Killed with its lease on the file still running: the next start waits for the lease to expire
  // (it cannot tell a dead holder from a live one sooner), here up to 20 s.
  const crashed = await startServiceProcess({ DATABASE_URL: url, WA_LEASE_TTL_MS: '20000' })
  await crashed.kill()
  const next = await spawnService({ DATABASE_URL: url, WA_LEASE_TTL_MS: '20000' })
  await waitUntil('the process to say it waits for the file', async () => (/waiting for the SQLite database/.test(next.output()) ? true : undefined), 30_000)
  assert.equal(next.process.exitCode, null, next.output())
  next.process.kill('SIGTERM')
  const exit = await exitWithin(next, 3_000, 'SIGTERM while waiting for the SQLite file')
  assert.equal(exit.code, 0, next.output())
  assert.ok(logLines(next.output()).some((line) => line.msg === 'stopped during start-up'), next.output())
})

test('the database directory is created level by level, and one that cannot be is an error naming it', () => {
  const dir = tempDir('wsgo-dirs-')
  dirs.push(dir)
  ensureDatabaseDirectory(path.join(dir, 'a', 'b', 'c', 'wsgo.db'))
  assert.ok(statSync(path.join(dir, 'a', 'b', 'c')).isDirectory())
  writeFileSync(path.join(dir, 'file'), '')
  assert.throws(() => ensureDatabaseDirectory(path.join(dir, 'file', 'wsgo.db')), (error: unknown) => error instanceof DatabasePathError && /file is not a directory/.test(error.message))
  assert.throws(() => ensureDatabaseDirectory(path.join(dir, 'file', 'x', 'wsgo.db')), DatabasePathError)
  assert.throws(() => ensureDatabaseDirectory('/proc/nope/deeper/x.db'), (error: unknown) => error instanceof DatabasePathError && /\/proc\/nope cannot be created \(\/proc does not allow creating it/.test(error.message))
})
