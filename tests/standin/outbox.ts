// Receiving what the device under test sends: each `<message>` carries one Signal ciphertext per
// recipient device (`<participants><to jid><enc>`), plus, for groups, one sender-key ciphertext (`skmsg`)
// for all. The simulated recipients decrypt their copies, so tests assert on real plaintext.
import { getBinaryNodeChild, isJidGroup, type BinaryNode, type proto } from '@whiskeysockets/baileys'
import type { Directory } from './directory.js'
import type { SignalPeer } from './signal-peer.js'
import { bytesOf, childrenNamed, descendants } from './nodes.js'

export type OutgoingMessage = {
	/** message id (the stanza's `id`) */
	id: string
	/** the chat: a user JID (PN or LID, as the sender addressed it) or a group JID */
	to: string
	isGroup: boolean
	/** the stanza's `type`: 'text', 'media', ... */
	type: string
	/** the content as the recipient decrypted it */
	message: proto.Message
	/** the visible text: the conversation, extended text (Baileys sends `{text}` as one) or media caption */
	text?: string
	/** the devices that got their own ciphertext (`<to jid>`), e.g. the contact and the account's phone */
	recipients: string[]
	/** the copy the account's own phone got (a deviceSentMessage), if the device sent it one */
	phoneCopy?: proto.Message
	/**
	 * 1 the first time this id reached its recipients; 2, 3, ... for each re-send under the same id
	 * (what Baileys does after a retry receipt), each one freshly encrypted
	 */
	copy: number
	stanza: BinaryNode
}

type EncType = 'pkmsg' | 'msg'

function visibleText(message: proto.IMessage): string | undefined {
	return (
		message.conversation ??
		message.extendedTextMessage?.text ??
		message.imageMessage?.caption ??
		message.documentMessage?.caption ??
		message.videoMessage?.caption ??
		undefined
	)
}

/** The peer that plays the device a `<to jid>` names, if it is simulated. */
function peerFor(directory: Directory, jid: string): SignalPeer | undefined {
	const known = directory.resolve(jid)
	if (!known) return undefined
	if (known.kind === 'contact') return known.contact.peer
	return jid.includes(':') ? undefined : directory.phonePeer // device 0 only: other companions are not simulated
}

/**
 * Decrypt an outgoing stanza as its recipients would.
 * @param sender the sending device's address, as the peers know it (`<lid>:<device>@lid`)
 * @returns undefined when no simulated recipient could read it (e.g. only companions were addressed)
 */
export async function openOutgoing(
	stanza: BinaryNode,
	directory: Directory,
	sender: string
): Promise<Omit<OutgoingMessage, 'copy'> | undefined> {
	const to = stanza.attrs.to ?? ''
	const isGroup = !!isJidGroup(to)
	const recipients: string[] = []
	let direct: proto.Message | undefined
	let phoneCopy: proto.Message | undefined

	for (const target of childrenNamed(getBinaryNodeChild(stanza, 'participants'), 'to')) {
		const device = target.attrs.jid ?? ''
		const enc = getBinaryNodeChild(target, 'enc')
		const ciphertext = bytesOf(enc)
		const peer = peerFor(directory, device)
		recipients.push(device)
		if (!peer || !ciphertext) continue
		const message = await peer.decrypt(sender, enc?.attrs.type as EncType, ciphertext)
		// in a group send, the per-device copies only hand out the sender's key
		if (message.senderKeyDistributionMessage) {
			await peer.acceptSenderKey(sender, message.senderKeyDistributionMessage)
		}
		if (peer === directory.phonePeer) phoneCopy = message
		else direct ??= message
	}

	let content: proto.Message | undefined
	if (isGroup) {
		const ciphertext = bytesOf(descendants(stanza, 'enc').find(enc => enc.attrs.type === 'skmsg'))
		const members = (directory.group(to)?.members ?? []).flatMap(member => (member.contact === 'self' ? [] : [member.contact.peer]))
		// every member holding the sender's key reads the one group ciphertext; keep the first reading
		for (const peer of [...members, directory.phonePeer]) {
			if (!ciphertext) break
			const message = await peer.decryptGroup(to, sender, ciphertext).catch(() => undefined)
			content ??= message
		}
	} else {
		// a note to self reaches only the account's own phone, wrapped as a deviceSentMessage
		content = direct ?? (phoneCopy?.deviceSentMessage?.message as proto.Message | undefined)
	}
	if (!content) return undefined
	return {
		id: stanza.attrs.id ?? '',
		to,
		isGroup,
		type: stanza.attrs.type ?? '',
		message: content,
		text: visibleText(content),
		recipients,
		phoneCopy,
		stanza
	}
}
