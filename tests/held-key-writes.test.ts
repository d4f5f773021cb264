// The Signal key writes of a decryption reach the store only after that message's event (see
// src/session/held-key-writes.ts): until then reads see them, a crash leaves the store as it was.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { HeldKeyWrites } from '../src/session/held-key-writes.js'
import { MemoryKeyStore } from './standin/memory-keys.js'

const session = (n: number) => ({ session: { 'alice.0': Buffer.from(`ratchet ${n}`) } }) as never
const stored = (store: MemoryKeyStore, id = 'alice.0') => (store.get('session', [id])[id] as Buffer | undefined)?.toString()
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test('writes are held until their message is stored; reads see them meanwhile; a batch not written goes with the next', async () => {
  const store = new MemoryKeyStore()
  const keys = new HeldKeyWrites(store, 60_000)

  keys.set(session(1)) // decrypting message 1
  const first = keys.seal() // message 1 handed over
  keys.set(session(2)) // message 2 decrypted while message 1 is stored
  const second = keys.seal()
  assert.equal(stored(store), undefined, 'nothing reaches the store before the events')
  assert.equal((await keys.get('session', ['alice.0']))['alice.0']?.toString(), 'ratchet 2', 'reads see the newest held value')

  await first() // message 1's event committed
  assert.equal(stored(store), 'ratchet 1', "message 2's ratchet waits for message 2's event")
  await second()
  assert.equal(stored(store), 'ratchet 2')

  // Message 3's event fails (its batch is never written); message 4's batch carries it along, oldest first.
  keys.set({ session: { 'bob.0': Buffer.from('bob 3') } } as never)
  keys.seal()
  keys.set(session(4))
  await keys.seal()()
  assert.equal(stored(store), 'ratchet 4')
  assert.equal(stored(store, 'bob.0'), 'bob 3')
})

test('writes no message follows go after the linger, after a message batch sealed before them; discard() drops what is held', async () => {
  const store = new MemoryKeyStore()
  const keys = new HeldKeyWrites(store, 20)
  keys.set({ 'pre-key': { '1': { public: Buffer.from('p'), private: Buffer.from('q') } } } as never)
  await settle(60)
  assert.ok(store.get('pre-key', ['1'])['1'], 'nothing followed: written on its own')

  keys.set(session(5))
  const fifth = keys.seal() // message 5 is being stored
  keys.set({ session: { 'bob.0': Buffer.from('bob 6') } } as never) // a message that failed to decrypt, say
  await settle(60)
  assert.equal(stored(store, 'bob.0'), undefined, 'it waits for the message batch sealed before it')
  await fifth()
  assert.equal(stored(store), 'ratchet 5')
  assert.equal(stored(store, 'bob.0'), 'bob 6', 'and goes right after it')

  keys.set(session(9))
  keys.discard()
  await keys.flush()
  keys.set(session(10))
  await keys.flush()
  assert.equal(stored(store), 'ratchet 5', 'a forgotten device writes nothing more')
})

test('batches made ready while the store is writing go together in its next write, oldest first; each writer resolves once its batch is in', async () => {
  const store = new MemoryKeyStore()
  const writes: string[][] = []
  let open: () => void = () => {}
  let gate = new Promise<void>((resolve) => (open = resolve))
  const slow = {
    get: store.get.bind(store),
    async set(data: Record<string, Record<string, unknown>>) {
      writes.push(Object.values(data).flatMap((values) => Object.entries(values).map(([id, value]) => `${id}=${String(value)}`)))
      await gate
      store.set(data as never)
    },
  }
  const keys = new HeldKeyWrites(slow as never, 60_000)
  const writers = [1, 2, 3, 4].map((n) => {
    keys.set({ session: { [`c${n}.0`]: `r${n}` } } as never)
    return keys.seal()
  })
  const done: number[] = []
  const first = writers[0]!().then(() => done.push(1)) // message 1 stored: its keys go, the store is now busy
  await new Promise((resolve) => setImmediate(resolve))
  const rest = writers.slice(1, 3).map((write, index) => write().then(() => done.push(index + 2))) // messages 2 and 3 stored meanwhile
  open()
  await Promise.all([first, ...rest])
  assert.deepEqual(writes, [['c1.0=r1'], ['c2.0=r2', 'c3.0=r3']], 'one write for messages 2 and 3; message 4 (not stored yet) waits')
  assert.deepEqual(done, [1, 2, 3])
  assert.equal(store.get('session', ['c4.0'])['c4.0'], undefined)
  gate = Promise.resolve()
  await writers[3]!()
  assert.deepEqual(writes.at(-1), ['c4.0=r4'])
})
