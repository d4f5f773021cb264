// Baileys' end() closes its WebSocket and waits for the peer's closing frame before it reports the
// connection closed. Over a connection the network black-holed that frame never comes, and ws waits
// 30 s before it gives up: a logout, a reconnect, a session's handover to another process, or
// Baileys noticing the connection was lost would all wait that long. Here the wait is bounded:
// past CLOSE_HANDSHAKE_MS the TCP connection is cut, as ws itself does after its own timeout.

/** How long WhatsApp gets to answer the closing frame. */
export const CLOSE_HANDSHAKE_MS = 2_000

/** Baileys' WebSocketClient, as far as closing it goes. */
export interface ClosableClient {
  close(): Promise<void>
  /** The `ws` socket underneath, while there is one. */
  readonly socket?: { terminate(): void } | null
}

/** Makes `client.close()` cut the connection once `ms` pass without the closing handshake completing. */
export function boundClose(client: ClosableClient, ms = CLOSE_HANDSHAKE_MS): void {
  const close = client.close.bind(client)
  client.close = async () => {
    const socket = client.socket
    const cut = setTimeout(() => socket?.terminate(), ms)
    try {
      await close()
    } finally {
      clearTimeout(cut)
    }
  }
}
