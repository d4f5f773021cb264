// The Signal key writes of a decryption reach the store only after that message's event (see
// src/session/held-key-writes.ts): until then reads see them, a crash leaves the store as it was.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { HeldKeyWrites } from '../src/session/held-key-writes.js'
import { MemoryKeyStore } from './standin/memory-keys.js'

const session = (n: number) => ({ session: { 'alice.0': Buffer.from(`ratchet ${n}`) } }) as never
const stored = (store: MemoryKeyStore) => (store.get('session', ['alice.0'])['alice.0'] as Buffer | undefined)?.toString()

test('writes are held until their batch is written; reads see them meanwhile; a batch not written goes with the next', async () => {
  const store = new MemoryKeyStore()
  const scheduled: Array<() => Promise<void>> = []
  const keys = new HeldKeyWrites(store, (write) => scheduled.push(write), 60_000)

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
  keys.set({ session: { 'bob.0': Buffer.from('bob 3') }, 'pre-key': { '7': null } } as never)
  keys.seal()
  keys.set(session(4))
  await keys.seal()()
  assert.equal(stored(store), 'ratchet 4')
  assert.equal(store.get('session', ['bob.0'])['bob.0']?.toString(), 'bob 3')
  assert.deepEqual(scheduled, [], 'no write went on its own')
})

test('writes no message follows go on their own after the linger; discard() drops what is held', async () => {
  const store = new MemoryKeyStore()
  const scheduled: Array<() => Promise<void>> = []
  const keys = new HeldKeyWrites(store, (write) => scheduled.push(write), 20)
  keys.set({ 'pre-key': { '1': { public: Buffer.from('p'), private: Buffer.from('q') } } } as never)
  await new Promise((resolve) => setTimeout(resolve, 60))
  assert.equal(scheduled.length, 1)
  await scheduled[0]!()
  assert.ok(store.get('pre-key', ['1'])['1'])

  keys.set(session(9))
  keys.discard()
  await keys.flush()
  keys.set(session(10))
  await keys.flush()
  assert.equal(stored(store), undefined, 'a forgotten device writes nothing more')
})
