// What happens to a message after it was sent, as the phones involved say it: its sender edits it
// or deletes it for everyone (protocol messages, sent like any other message with
// StandIn.sendMessage), and its recipient's phone reads it (a `<receipt type="read">`).
import { proto } from '@whiskeysockets/baileys'
import type { StandIn } from './server.js'
import type { StandInContact } from './directory.js'
import { node, unixNow } from './nodes.js'

/** The key a sender's phone writes into an edit or a revoke: its own message, in the device's chat. */
const ownKey = (id: string, chat: string): proto.IMessageKey => ({ id, remoteJid: chat, fromMe: true })

/** The sender changes the text of message `id` (they sent it in `chat`, as seen from their phone). */
export function editMessage(id: string, chat: string, text: string): proto.IMessage {
	return {
		protocolMessage: {
			type: proto.Message.ProtocolMessage.Type.MESSAGE_EDIT,
			key: ownKey(id, chat),
			editedMessage: { conversation: text },
			timestampMs: Date.now()
		}
	}
}

/** The sender deletes message `id` for everyone. */
export function revokeMessage(id: string, chat: string): proto.IMessage {
	return { protocolMessage: { type: proto.Message.ProtocolMessage.Type.REVOKE, key: ownKey(id, chat) } }
}

/**
 * A recipient's phone reports it read (or played) a message the device sent, as WhatsApp relays
 * it: from the chat the device sent to, with the member as `participant` in a group.
 */
export function sendReadReceipt(standin: StandIn, messageId: string, options: { type?: 'read' | 'played'; member?: StandInContact } = {}): void {
	const sent = standin.outbox().find((message) => message.id === messageId)
	if (!sent) throw new Error(`the device sent no message ${messageId}`)
	const attrs = { id: messageId, from: sent.to, type: options.type ?? 'read', t: String(unixNow()), ...(options.member && { participant: options.member.lidJid }) }
	// The live connection is the server's own; a receipt is one stanza on it.
	standin['requireLive']().connection.send(node('receipt', attrs))
}
