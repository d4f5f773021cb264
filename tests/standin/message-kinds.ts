// Every everyday kind of message as a contact's phone composes it, beyond contact-messages.ts:
// video (GIF), audio and voice notes, stickers (media encrypted and published on the stand-in's
// media host, so their url/mediaKey really lead to the bytes), locations, contact cards, reactions,
// polls, and a reply with @mentions. Send them with StandIn.sendMessage.
import { proto, type MediaType } from '@whiskeysockets/baileys'
import type { StandIn } from './server.js'
import { publishedMedia } from './contact-messages.js'
import { encryptMedia } from './media-crypto.js'
import type { MediaHost } from './media-host.js'

const hostOf = (standin: StandIn): MediaHost => standin['media']

const mediaFields = (standin: StandIn, data: Buffer, type: MediaType) => publishedMedia(hostOf(standin), data, type)

export async function videoMessage(standin: StandIn, data: Buffer, options: { caption?: string; gifPlayback?: boolean; seconds?: number } = {}): Promise<proto.IMessage> {
	return { videoMessage: { ...(await mediaFields(standin, data, 'video')), mimetype: 'video/mp4', seconds: options.seconds ?? 3, caption: options.caption, gifPlayback: options.gifPlayback ?? false } }
}

export async function audioMessage(standin: StandIn, data: Buffer, options: { ptt?: boolean; seconds?: number; mimetype?: string } = {}): Promise<proto.IMessage> {
	return { audioMessage: { ...(await mediaFields(standin, data, 'audio')), mimetype: options.mimetype ?? 'audio/ogg; codecs=opus', seconds: options.seconds ?? 2, ptt: options.ptt ?? false } }
}

export async function stickerMessage(standin: StandIn, data: Buffer): Promise<proto.IMessage> {
	return { stickerMessage: { ...(await mediaFields(standin, data, 'sticker')), mimetype: 'image/webp', width: 64, height: 64 } }
}

/** A document whose bytes the media host serves after all, but whose declared size is `declaredSize`. */
export async function documentWithSize(standin: StandIn, data: Buffer, declaredSize: number, fileName: string): Promise<proto.IMessage> {
	return { documentMessage: { ...(await mediaFields(standin, data, 'document')), fileLength: declaredSize, mimetype: 'application/octet-stream', fileName } }
}

/** An image whose blob is not on the media host (WhatsApp's copy expired): downloading it fails. */
export async function unavailableImage(standin: StandIn, data: Buffer): Promise<{ message: proto.IMessage; publish(): void }> {
	const media = await encryptMedia(data, 'image')
	// Published under a path first, then taken away by publishing lazily: the path is known only once published,
	// so the message points at a path the host does not serve until publish() puts the blob there.
	const host = hostOf(standin)
	const { directPath } = host.publish(media.body, 'image')
	const stored = host.blob(directPath)!
	const pathname = new URL(directPath, 'https://x').pathname
	const blobs = host['blobs'] as Map<string, unknown>
	blobs.delete(pathname)
	return {
		message: {
			imageMessage: {
				url: `https://${host.host}${directPath}&mms3=true`,
				directPath,
				mediaKey: media.mediaKey,
				fileSha256: media.fileSha256,
				fileEncSha256: media.fileEncSha256,
				fileLength: media.fileLength,
				mimetype: 'image/png',
				mediaKeyTimestamp: Math.floor(Date.now() / 1000)
			}
		},
		publish: () => void blobs.set(pathname, stored)
	}
}

export function locationMessage(latitude: number, longitude: number, name?: string, address?: string): proto.IMessage {
	return { locationMessage: { degreesLatitude: latitude, degreesLongitude: longitude, name, address } }
}

export function contactCard(displayName: string, phone: string): { displayName: string; vcard: string } {
	const vcard = ['BEGIN:VCARD', 'VERSION:3.0', `FN:${displayName}`, `TEL;type=CELL;waid=${phone}:+${phone}`, 'END:VCARD'].join('\n')
	return { displayName, vcard }
}

export function contactMessage(...cards: Array<{ displayName: string; vcard: string }>): proto.IMessage {
	if (cards.length === 1) return { contactMessage: cards[0] }
	return { contactsArrayMessage: { displayName: `${cards.length} contacts`, contacts: cards } }
}

/** A reaction to message `id` in the chat with the device (`fromMe`: the device sent that message). */
export function reactionMessage(id: string, emoji: string, chat: string, fromMe: boolean): proto.IMessage {
	return { reactionMessage: { key: { id, remoteJid: chat, fromMe }, text: emoji, senderTimestampMs: Date.now() } }
}

export function pollMessage(question: string, options: string[], selectableCount = 1): proto.IMessage {
	return {
		messageContextInfo: { messageSecret: Buffer.alloc(32, 7) },
		pollCreationMessageV3: { name: question, options: options.map(optionName => ({ optionName })), selectableOptionsCount: selectableCount }
	}
}

/** A text replying to `quotedId` (written by `quotedSender`) and @mentioning `mentions` (JIDs). */
export function replyMessage(text: string, quotedId: string, quotedSender: string, mentions: string[] = []): proto.IMessage {
	return {
		extendedTextMessage: {
			text,
			contextInfo: { stanzaId: quotedId, participant: quotedSender, quotedMessage: { conversation: 'the earlier message' }, mentionedJid: mentions }
		}
	}
}

export const Status = proto.WebMessageInfo.Status
