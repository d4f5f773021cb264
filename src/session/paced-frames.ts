// What WhatsApp sends is deciphered and parsed at the event loop's slice pace (issue 18, storm
// budget). Baileys handles each WebSocket message as it is read: Noise decryption, then parsing the
// binary node, then routing it, all before anything else runs. A backlog handed over at once (2,000
// messages after a reconnect) is read from the socket 64 KB at a time, up to 2 MB per turn of the
// loop, so one turn held hundreds of them: 60-150 ms in which /health could not answer. Here the
// socket's messages wait in a queue and Baileys' handler takes them in arrival order, one at a time,
// each once the turn has slice left (src/event-loop-slice.ts). Once the slice is spent, or while too
// many wait, the socket is not read: the rest stays in the kernel, and TCP slows the sender.
//
// Baileys' handler is taken off its WebSocket client and called from here, not patched: it is one
// listener, registered as the socket is made. When Baileys ends the socket it removes every message
// listener, this queue's included, and what still waits is dropped: it was never receipted, so
// WhatsApp sends it again on the next connection. The socket is read again then, for its closing
// handshake.
import { sliceSpent, waitForSlice } from '../event-loop-slice.js'

/** Baileys' WebSocketClient (an EventEmitter that re-emits its `ws` socket's events), as paced here. */
export interface FrameSource {
  listeners(event: 'message'): Array<(...args: never[]) => unknown>
  on(event: 'message', listener: (data: Buffer) => void): unknown
  off(event: 'message', listener: (...args: never[]) => unknown): unknown
  /** The `ws` socket, read or not. */
  readonly socket?: { pause(): void; resume(): void } | null
}

/** Messages read and not yet handled past which the socket is not read (about 150 KB of WhatsApp's). */
export const MAX_WAITING_FRAMES = 512

/**
 * Routes the client's messages through the paced queue. False, and nothing changed, if the client
 * does not have exactly one message listener (not the Baileys this was written for).
 */
export function paceFrames(client: FrameSource, onError: (error: unknown) => void): boolean {
  const listeners = client.listeners('message')
  if (listeners.length !== 1) return false
  const handle = listeners[0] as unknown as (data: Buffer) => unknown
  client.off('message', listeners[0]!)
  const waiting: Buffer[] = []
  let draining = false
  let paused = false
  const queue = (data: Buffer) => {
    waiting.push(data)
    // Reading costs too (a 4 KB message about 0.1 ms): once the slice is spent, the rest waits in
    // the kernel. And however fast it is read, no more than MAX_WAITING_FRAMES wait here.
    if (!paused && (waiting.length >= MAX_WAITING_FRAMES || sliceSpent())) {
      paused = true
      client.socket?.pause()
    }
    if (!draining) void drain()
  }
  const drain = async () => {
    draining = true
    while (waiting.length > 0) {
      await waitForSlice()
      // Ended by Baileys (its listeners removed): nothing more is handled. A socket left unread
      // could not read the peer's closing frame either, and Baileys' end() waits for that (ws gives
      // up after 30 s): a logout, a reconnect or a session moving to another process would wait too.
      if (!client.listeners('message').includes(queue as never)) {
        waiting.length = 0
        if (paused) client.socket?.resume()
        paused = false
        break
      }
      if (paused && waiting.length <= MAX_WAITING_FRAMES / 2) {
        paused = false
        client.socket?.resume()
      }
      try {
        // One at a time and in order: the Noise decryption's counter depends on it.
        await handle(waiting.shift()!)
      } catch (error) {
        onError(error)
      }
    }
    draining = false
  }
  client.on('message', queue)
  return true
}
