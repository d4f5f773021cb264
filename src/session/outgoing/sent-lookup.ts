// Which sent-message store belongs to which connection. The store is made with the connection (in
// load-whatsapp.ts) and the routers only reach the connection; this keeps them paired without
// widening the connection's API. Type-only imports: routers load this before Baileys is loaded.
import type { WhatsAppConnection } from '../connection.js'
import type { SentMessageStore } from '../sent-messages.js'

const stores = new WeakMap<WhatsAppConnection, SentMessageStore>()

export function keepSentMessagesOf(connection: WhatsAppConnection, store: SentMessageStore): void {
  stores.set(connection, store)
}

/** The store of what this connection sent; undefined only if it was built without one. */
export function sentMessagesOf(connection: WhatsAppConnection): SentMessageStore | undefined {
  return stores.get(connection)
}
