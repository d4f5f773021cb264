// Retry receipts: what a recipient's phone sends when it could not decrypt a message ("send it
// again"). Mirrors Baileys' own sendRetryRequest (Socket/messages-recv.js) from the phone's side:
// `<retry count id t v>`, the phone's `<registration>` id and, when it wants a new Signal session, a
// fresh pre-key bundle in `<keys>`. Baileys (handleReceipt -> sendMessagesAgain) looks the message up
// (its recent-message cache, else the `getMessage` config callback), starts a session from the bundle
// if there is one, and relays the message again under the same id.
import type { BinaryNode } from '@whiskeysockets/baileys'
import type { StandInContact } from './directory.js'
import { node, unixNow } from './nodes.js'
import type { OutgoingMessage } from './outbox.js'
import { bundleKeyNodes, registrationNode } from './signal-peer.js'

export type RetryOptions = {
	/** which try this is (`<retry count>`, default 1); Baileys stops re-sending after maxMsgRetryCount */
	count?: number
	/**
	 * attach a fresh pre-key bundle (default true), as a phone does when its session is broken: Baileys
	 * drops its session and encrypts the re-sent copy as a new `pkmsg`. Without it Baileys keeps its
	 * session if the registration id matches, and fetches a fresh bundle from the server anyway.
	 */
	keys?: boolean
}

/**
 * The `<receipt type="retry">` a contact's phone sends for a message the device sent: from the chat
 * it was sent to, or, in a group, from the group with the contact as participant.
 */
export function retryReceiptNode(contact: StandInContact, original: OutgoingMessage, options: RetryOptions = {}): BinaryNode {
	const chat = original.isGroup ? { from: original.to, participant: contact.lidJid } : { from: original.to }
	const keys = options.keys === false ? [] : [node('keys', {}, bundleKeyNodes(contact.peer.issueBundle()))]
	return node('receipt', { ...chat, id: original.id, type: 'retry', t: String(unixNow()) }, [
		node('retry', {
			count: String(options.count ?? 1),
			id: original.id,
			t: original.stanza.attrs.t ?? String(unixNow()),
			v: '1',
			error: '0'
		}),
		registrationNode(contact.peer.registrationId),
		...keys
	])
}
