// Contacts' phones writing to the device: the `<message>` stanzas WhatsApp delivers, Signal-encrypted
// by each contact's own simulated phone, LID-addressed with the phone number alongside (unless the
// sender is known by LID only), with the sender's push name in `notify`.
import { randomBytes } from 'node:crypto'
import type { BinaryNode, proto } from '@whiskeysockets/baileys'
import { stanzaKind } from './contact-messages.js'
import type { Directory, StandInContact } from './directory.js'
import { node, unixNow } from './nodes.js'
import { takeBundle, type LinkedDevice } from './pairing.js'

export type SendOptions = {
	/** send inside this group (`...@g.us`): sender-key encrypted, like a real group message */
	group?: string
	/** address the sender by LID only, without the phone-number JID (`sender_pn`/`participant_pn`) */
	lidOnly?: boolean
	/** the message id (default: a random one) */
	id?: string
}

const newMessageId = () => randomBytes(16).toString('hex').toUpperCase()

export class ContactPhones {
	/** group sender keys a contact already handed to a device: later messages carry only the skmsg */
	private readonly senderKeysGiven = new Set<string>()

	constructor(private readonly directory: Directory) {}

	async messageStanza(contact: StandInContact, device: LinkedDevice, message: proto.IMessage, options: SendOptions): Promise<BinaryNode> {
		const { type, mediatype } = stanzaKind(message)
		const attrs = this.envelope(contact, options, { id: options.id ?? newMessageId(), type })
		if (!options.group) return node('message', attrs, [await this.encrypt(contact, device, message, mediatype)])

		const { ciphertext, distribution } = await contact.peer.encryptForGroup(options.group, message)
		const encs: BinaryNode[] = []
		// like a real client, hand the group's sender key to this device once, in a pairwise message
		const given = `${options.group}|${contact.lid}|${device.deviceId}`
		if (!this.senderKeysGiven.has(given)) {
			encs.push(
				await this.encrypt(contact, device, {
					senderKeyDistributionMessage: { groupId: options.group, axolotlSenderKeyDistributionMessage: distribution }
				})
			)
			this.senderKeysGiven.add(given)
		}
		encs.push(node('enc', { v: '2', type: 'skmsg', mediatype }, ciphertext))
		return node('message', attrs, encs)
	}

	/** A message whose ciphertext is garbage: the device cannot decrypt it. */
	undecryptableStanza(contact: StandInContact, options: SendOptions): BinaryNode {
		const attrs = this.envelope(contact, options, { id: options.id ?? newMessageId(), type: 'text' })
		return node('message', attrs, [node('enc', { v: '2', type: 'msg' }, randomBytes(64))])
	}

	private envelope(contact: StandInContact, options: SendOptions, base: { id: string; type: string }) {
		const pn = options.lidOnly ? undefined : contact.pnJid
		const common = { ...base, t: String(unixNow()), notify: contact.pushName, addressing_mode: 'lid' }
		return options.group
			? { ...common, from: options.group, participant: contact.lidJid, participant_pn: pn }
			: { ...common, from: contact.lidJid, sender_pn: pn }
	}

	/** Pairwise Signal encryption from the contact's phone, starting a session from the device's bundle if needed. */
	private async encrypt(contact: StandInContact, device: LinkedDevice, message: proto.IMessage, mediatype?: string) {
		const address = this.directory.deviceAddress(device)
		if (!(await contact.peer.hasSessionWith(address))) await contact.peer.startSession(address, takeBundle(device))
		const { type, ciphertext } = await contact.peer.encrypt(address, message)
		return node('enc', { v: '2', type, mediatype }, ciphertext)
	}
}
