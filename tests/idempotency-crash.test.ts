// An Idempotency-Key whose first call never recorded its answer (issue 16's gap): the process was
// killed mid-send, or the message went out and the answer could not be stored. The key is left
// `pending`, and a retry (exactly when a key matters) was refused with 409 "in progress" for 24 h.
// Now the message id is chosen before the send and kept with the key, so the retry takes the key
// over and sends again under that id: the caller gets the id, the recipient one message.
//
// The service runs as its own process (SIGKILL), on a database the test also opens (SQLite, PostgreSQL). "One message"
// is read on the stand-in's side: its phones decrypt everything the device sends, and a re-send under
// the same id is the same message (the id may reach them twice; distinct ids are counted).
import { mkdirSync, writeFileSync } from 'node:fs'
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { openClient, type Db } from '../src/store/database.js'
import { releaseBaileysTimers, startStandIn, type StandIn } from './standin/index.js'
import { loggedIn, qrOf, startServiceProcess, type ServiceProcess } from './support/child.js'
import { stopTestDatabases, testDatabases } from './support/databases.js'
import { ALICE, waitUntil } from './support/whatsapp.js'

/** A contact the device has never written to: its first send asks the server for her devices. */
const CAROL = { phone: '15550004444', lid: '88880004444', pushName: 'Carol' }

const databases = await testDatabases()
const children: ServiceProcess[] = []
const cleanups: Array<() => Promise<unknown> | unknown> = []
after(async () => {
  await Promise.all(children.map((child) => child.kill()))
  mkdirSync('tests/.artifacts', { recursive: true })
  for (const [i, child] of children.entries()) writeFileSync(`tests/.artifacts/idempotency-crash-process-${i + 1}.log`, child.output())
  while (cleanups.length > 0) await cleanups.pop()!()
  await stopTestDatabases()
  releaseBaileysTimers()
})

type Answer = { status: number; body: { messageID?: string; code?: string; error?: string } }

async function sendText(service: ServiceProcess, body: unknown, key: string): Promise<Answer> {
  const res = await fetch(`${service.url}/api/send/text`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  })
  return { status: res.status, body: (await res.json()) as Answer['body'] }
}

/** The distinct message ids the stand-in's phones decrypted with `text`, after time for a stray one. */
async function decryptedIds(standin: StandIn, text: string): Promise<Set<string>> {
  await standin.waitForOutgoing((m) => m.text === text)
  await new Promise((resolve) => setTimeout(resolve, 300))
  return new Set(standin.outbox().filter((m) => m.text === text).map((m) => m.id))
}

/** Makes the store refuse to record answers (as a full disk would), and takes that back. */
const LOSE_ANSWERS = {
  sqlite: {
    on: [`CREATE TRIGGER lose_answers BEFORE UPDATE ON "IdempotencyKey" WHEN NEW.state = 'done' BEGIN SELECT RAISE(ABORT, 'test: the answer is lost'); END`],
    off: ['DROP TRIGGER lose_answers'],
  },
  postgresql: {
    on: [
      `CREATE FUNCTION lose_answers() RETURNS trigger AS $$ BEGIN IF NEW.state = 'done' THEN RAISE EXCEPTION 'test: the answer is lost'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
      'CREATE TRIGGER lose_answers BEFORE UPDATE ON "IdempotencyKey" FOR EACH ROW EXECUTE FUNCTION lose_answers()',
    ],
    off: ['DROP TRIGGER lose_answers ON "IdempotencyKey"', 'DROP FUNCTION lose_answers()'],
  },
}

for (const database of databases) test(`${database.provider}: a key left pending by a lost answer or a killed process: the retry sends under the id chosen first, the recipient gets one message`, { skip: database.skip, timeout: 90_000 }, async () => {
  const standin = await startStandIn()
  cleanups.push(() => standin.close())
  standin.contact(ALICE)
  standin.contact(CAROL)
  standin.setRegistered([ALICE.phone, CAROL.phone])
  const env = {
    DATABASE_URL: await database.fresh(),
    WA_WS_URL: standin.url,
    SEND_MIN_GAP_MS: '0',
    RECONNECT_MIN_MS: '50',
    RECONNECT_MAX_MS: '500',
    // The killed process's lease expires soon: the restart need not wait long for it.
    WA_LEASE_TTL_MS: '1500',
    LOG_LEVEL: 'info',
  }
  const start = async () => {
    const child = await startServiceProcess(env, { trustStandIn: true })
    children.push(child)
    return child
  }

  let service = await start()
  const db: Db = await openClient(env.DATABASE_URL)
  cleanups.push(() => db.$disconnect())
  const qr = await qrOf(service)
  await standin.scanQr(qr, { pushName: 'Idempotency', platform: 'smba' })
  await standin.waitForLogin(20_000)
  await loggedIn(service, 20_000)
  const row = (key: string) => db.idempotencyKey.findUnique({ where: { session_key: { session: 'default', key } } })

  // 1. The message goes out, and its answer cannot be stored (the store refuses the write, as a
  // full disk would): the first call answers with the message's id all the same, and the key stays
  // pending. A retry in the same process takes it over and gets that id; nothing new reaches Alice.
  for (const sql of LOSE_ANSWERS[database.provider].on) await db.$executeRawUnsafe(sql)
  const lostKey = `lost-answer-${Date.now()}`
  const lostBody = { phone: ALICE.phone, message: 'sent, answer lost' }
  const first = await sendText(service, lostBody, lostKey)
  for (const sql of LOSE_ANSWERS[database.provider].off) await db.$executeRawUnsafe(sql)
  const [sentId] = [...(await decryptedIds(standin, lostBody.message))]
  assert.equal(first.status, 200, JSON.stringify(first.body))
  assert.equal(first.body.messageID, sentId)
  assert.deepEqual([(await row(lostKey))?.state, (await row(lostKey))?.messageId], ['pending', sentId])
  assert.match(service.output(), /answer of an idempotent send could not be stored/, 'the lost answer is logged')
  const retried = await sendText(service, lostBody, lostKey)
  assert.equal(retried.status, 200, `the retry of a key whose answer was lost: ${JSON.stringify(retried.body)}`)
  assert.equal(retried.body.messageID, sentId)
  assert.deepEqual([...(await decryptedIds(standin, lostBody.message))], [sentId], 'one message for Alice')
  assert.equal((await row(lostKey))?.state, 'done')
  // Now recorded: the next retry is answered from the store and sends nothing.
  const copies = standin.outbox().filter((m) => m.id === sentId).length
  assert.equal((await sendText(service, lostBody, lostKey)).body.messageID, sentId)
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.equal(standin.outbox().filter((m) => m.id === sentId).length, copies, 'a recorded key sends nothing again')

  // 2. The process is killed mid-send (WhatsApp does not answer the device lookup for Carol, whom
  // the device never wrote to), then started again on the same database: the retry is not locked
  // out, and goes out under the id the killed process had chosen.
  standin.ignoreQueries('usync')
  const killedKey = `killed-${Date.now()}`
  const killedBody = { phone: CAROL.phone, message: 'killed mid-send' }
  const hanging = sendText(service, killedBody, killedKey).catch((error: unknown) => error)
  const pending = await waitUntil('the key taken', async () => (await row(killedKey)) ?? undefined, 10_000)
  assert.equal(pending.state, 'pending')
  assert.ok(pending.messageId, 'the message id is chosen, and kept, before the send')
  await new Promise((resolve) => setTimeout(resolve, 300))
  await service.kill()
  assert.ok((await hanging) instanceof Error, 'the killed process never answered')
  assert.equal(standin.outbox().filter((m) => m.text === killedBody.message).length, 0, 'nothing reached Carol before the kill')
  standin.ignoreQueries()

  service = await start()
  await standin.waitForLogin(20_000)
  await loggedIn(service, 20_000)
  const afterCrash = await sendText(service, killedBody, killedKey)
  assert.equal(afterCrash.status, 200, `the retry after the crash: ${JSON.stringify(afterCrash.body)}`)
  assert.equal(afterCrash.body.messageID, pending.messageId)
  assert.deepEqual([...(await decryptedIds(standin, killedBody.message))], [pending.messageId], 'one message for Carol, under the id chosen first')
  // A different request with that key is still another request.
  const other = await sendText(service, { ...killedBody, message: 'another text' }, killedKey)
  assert.deepEqual([other.status, other.body.code], [409, 'CONFLICT'])
  assert.equal(standin.errors().length, 0, `the stand-in failed: ${standin.errors().join('; ')}`)
  await service.stop()
})
