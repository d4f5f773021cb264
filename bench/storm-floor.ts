// The storm bench's floor: Baileys alone, in a process of its own, with its keys in memory (no
// store, no event log, no webhook), receiving the same messages as the service. Bundled to plain
// JavaScript by bench/storm.ts and run with `npm start`'s node flags, so the two processes differ
// only in what the service adds around Baileys.
//
// IPC (child_process.fork): out {qr}, {open}, {seen: n, at} once `expect` messages arrived; in
// {expect, prefix} to start counting messages.upsert whose text starts with `prefix` (and to restart
// the event-loop delay histogram); {report: true} -> {loop: {p50, p99, max}} in ms since then: how
// long Baileys alone holds its event loop, beside the service's /health figures.
import makeWASocket, { initAuthCreds, makeCacheableSignalKeyStore, type WAMessage } from '@whiskeysockets/baileys'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import pino from 'pino'
import { MemoryKeyStore } from '../tests/standin/memory-keys.js'

// libsignal writes every decryption failure to the console, a line and a stack; the service routes
// that into its rate-limited log (src/session/quiet-logger.ts). The floor drops it: a floor does the least.
for (const name of ['log', 'info', 'warn', 'error'] as const) console[name] = () => {}

const url = process.argv[2]
if (!url || !process.send) throw new Error('usage: fork(storm-floor.mjs, [waWebSocketUrl])')
const send = (message: object) => process.send!(message)
const now = () => performance.timeOrigin + performance.now()

const creds = initAuthCreds()
const keys = new MemoryKeyStore()
const logger = pino({ level: 'silent' })
let expect = 0
let prefix = '\u0000'
let seen = 0

const textOf = (message: WAMessage) => message.message?.conversation ?? message.message?.extendedTextMessage?.text ?? undefined

function connect(): void {
  // The options the service gives Baileys (src/session/connection.ts), minus its stores.
  const socket = makeWASocket({
    auth: { creds, keys: makeCacheableSignalKeyStore(keys, logger) },
    logger,
    waWebSocketUrl: url,
    markOnlineOnConnect: false,
    retryRequestDelayMs: Number(process.env.WA_RETRY_REQUEST_DELAY_MS ?? 250),
    shouldSyncHistoryMessage: () => false,
  })
  socket.ev.on('connection.update', (update) => {
    if (update.qr) send({ qr: update.qr })
    if (update.connection === 'open') send({ open: true })
    if (update.connection === 'close') {
      const code = (update.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode
      // 515 after pairing: log in again with the new creds, as the service does.
      if (code === 515) connect()
      else send({ closed: code ?? null })
    }
  })
  socket.ev.on('messages.upsert', ({ messages }) => {
    for (const message of messages) {
      if (!textOf(message)?.startsWith(prefix)) continue
      seen++
      if (seen === expect) send({ seen, at: now() })
    }
  })
}

const loop = monitorEventLoopDelay({ resolution: 10 })
loop.enable()
const ms = (ns: number) => ns / 1e6

process.on('message', (message: { expect: number; prefix: string } | { report: true }) => {
  if ('report' in message) {
    send({ loop: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) } })
    return
  }
  expect = message.expect
  prefix = message.prefix
  seen = 0
  loop.reset()
})
connect()
