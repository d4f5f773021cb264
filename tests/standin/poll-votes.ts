// A contact's phone voting on a poll: the vote (SHA-256 of each option chosen) is encrypted for the
// poll's creator as WhatsApp does it (AES-256-GCM, the key derived from the poll's messageSecret,
// the poll's id and both JIDs), inside a pollUpdateMessage. Send it with StandIn.sendMessage.
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto'
import { proto } from '@whiskeysockets/baileys'

export interface VoteSpec {
	pollMessageId: string
	/** The poll's messageSecret (from the poll as the voter's phone decrypted it). */
	secret: Uint8Array
	/** The poll's creator and the voter, as the voter's phone names them. */
	creatorJid: string
	voterJid: string
	/** The chat the poll is in, as the voter's phone sees it. */
	chat: string
	options: string[]
}

export function pollVoteMessage(spec: VoteSpec): proto.IMessage {
	const sign = Buffer.concat([Buffer.from(spec.pollMessageId), Buffer.from(spec.creatorJid), Buffer.from(spec.voterJid), Buffer.from('Poll Vote'), Buffer.from([1])])
	const key0 = createHmac('sha256', Buffer.alloc(32)).update(spec.secret).digest()
	const key = createHmac('sha256', key0).update(sign).digest()
	const iv = randomBytes(12)
	const cipher = createCipheriv('aes-256-gcm', key, iv)
	cipher.setAAD(Buffer.from(`${spec.pollMessageId}\u0000${spec.voterJid}`))
	const vote = proto.Message.PollVoteMessage.encode({ selectedOptions: spec.options.map(o => createHash('sha256').update(o).digest()) }).finish()
	const encPayload = Buffer.concat([cipher.update(vote), cipher.final(), cipher.getAuthTag()])
	return {
		pollUpdateMessage: {
			pollCreationMessageKey: { id: spec.pollMessageId, remoteJid: spec.chat, fromMe: false },
			vote: { encPayload, encIv: iv },
			senderTimestampMs: Date.now()
		}
	}
}
