// How sessions are spread over processes (src/session/ownership.ts assign()): every process computes
// the same answer, the spread is even, and a process joining or leaving moves few sessions. And what
// a process taking a session is told: whether the lease was still its own.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { createLogger } from '../src/logger.js'
import { assign, Ownership } from '../src/session/ownership.js'
import { openClient } from '../src/store/database.js'
import { migrate } from '../src/store/migrate.js'
import { tempDir } from './support/service.js'

const sessions = Array.from({ length: 60 }, (_, i) => `s${String(i).padStart(2, '0')}`)
const counts = (assignment: Map<string, string>) => {
  const byNode = new Map<string, number>()
  for (const node of assignment.values()) byNode.set(node, (byNode.get(node) ?? 0) + 1)
  return byNode
}

test('every session gets one live process, evenly, whatever order the processes are listed in', () => {
  const nodes = ['host-a:1:aa', 'host-b:2:bb', 'host-c:3:cc', 'host-d:4:dd']
  const assignment = assign(sessions, nodes)
  assert.equal(assignment.size, sessions.length)
  assert.deepEqual([...counts(assignment).values()].sort(), [15, 15, 15, 15])
  assert.deepEqual(assign([...sessions].reverse(), [...nodes].reverse()), assignment, 'the same answer from rows read in another order')
  const uneven = counts(assign(sessions.slice(0, 7), nodes.slice(0, 3)))
  assert.deepEqual([...uneven.values()].sort(), [2, 2, 3])
  assert.equal(assign(sessions, []).size, 0, 'no live process: nobody owns anything')
})

test('a process joining or leaving moves few sessions', () => {
  const three = ['n1', 'n2', 'n3']
  const before = assign(sessions, three)
  const joined = assign(sessions, [...three, 'n4'])
  const moved = sessions.filter((s) => before.get(s) !== joined.get(s))
  // The newcomer must take its 15; a little more may move to keep the spread even, not the whole lot.
  assert.ok(moved.length >= 15 && moved.length <= 25, `${moved.length} of 60 moved when a fourth process joined`)
  assert.ok(moved.every((s) => joined.get(s) === 'n4' || before.get(s) !== 'n4'))

  const left = assign(sessions, ['n1', 'n2'])
  const movedOnLeave = sessions.filter((s) => before.get(s) !== left.get(s))
  const orphaned = sessions.filter((s) => before.get(s) === 'n3')
  assert.ok(orphaned.every((s) => left.get(s) !== 'n3'))
  assert.ok(movedOnLeave.length <= orphaned.length + 5, `${movedOnLeave.length} moved when one of three left (${orphaned.length} had to)`)
})

test('with the current owners given, a new session moves no other, and a newcomer takes just its share', () => {
  const nodes = ['n1', 'n2', 'n3']
  let current = new Map<string, string>()
  for (let count = 1; count <= 20; count++) {
    const next = assign(sessions.slice(0, count), nodes, current)
    for (const [session, node] of current) assert.equal(next.get(session), node, `creating session ${count} moved ${session}`)
    const loads = [...counts(next).values()]
    assert.ok(Math.max(...loads) - Math.min(...loads, ...(loads.length < nodes.length ? [0] : [])) <= 1, `even after ${count}: ${loads}`)
    current = next
  }
  const joined = assign(sessions.slice(0, 20), [...nodes, 'n4'], current)
  const moved = sessions.slice(0, 20).filter((s) => joined.get(s) !== current.get(s))
  assert.equal(moved.length, 5, 'the newcomer takes its five and nothing else moves')
  assert.ok(moved.every((s) => joined.get(s) === 'n4'))
  const dead = assign(sessions.slice(0, 20), ['n1', 'n2', 'n4'], joined)
  const movedOnDeath = sessions.slice(0, 20).filter((s) => dead.get(s) !== joined.get(s))
  assert.deepEqual(movedOnDeath.sort(), sessions.slice(0, 20).filter((s) => joined.get(s) === 'n3').sort(), "only the dead process's sessions move")
})

test('taking a session, a process is told whether the lease was still its own: only then is what it kept of the session still the truth', async () => {
  const url = `file:${path.join(tempDir(), 'wsgo.db')}`
  await migrate(url)
  const db = await openClient(url)
  const acquired = new Map<string, boolean>()
  // Several processes' rules (PostgreSQL's), on one SQLite file for the test.
  const ownership = new Ownership(
    db,
    { ttlMs: 60_000, url: () => 'http://127.0.0.1:1', provider: 'postgresql', logger: createLogger('silent') },
    { sessions: async () => ['kept', 'elsewhere', 'new'], acquire: async (name, continued) => void acquired.set(name, continued), release: async () => {} },
  )
  try {
    const past = new Date(Date.now() - 3_600_000)
    // Its own lease, expired (it closed the session when the database failed, and nobody took it since).
    await db.lease.create({ data: { name: 'kept', owner: ownership.node, expiresAt: past } })
    // Another process's, expired: that process owned the session after this one did.
    await db.lease.create({ data: { name: 'elsewhere', owner: 'host-x:9:dead', expiresAt: past } })
    await ownership.start()
    assert.deepEqual(Object.fromEntries(acquired), { kept: true, elsewhere: false, new: false })
    const leases = await db.lease.findMany({ orderBy: { name: 'asc' } })
    assert.deepEqual(leases.map((l) => [l.name, l.owner === ownership.node, l.expiresAt > new Date()]), [['elsewhere', true, true], ['kept', true, true], ['new', true, true]])
  } finally {
    await ownership.stop()
    await db.$disconnect()
  }
})
