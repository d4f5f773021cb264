// Message contents as a contact's phone composes them. Media is encrypted and published on the
// stand-in's media host first, so the message's url/directPath/mediaKey really lead to the bytes.
import type { MediaType, proto } from '@whiskeysockets/baileys'
import { encryptMedia } from './media-crypto.js'
import type { MediaHost } from './media-host.js'

export type ImageSpec = { data?: Buffer; caption?: string; mimetype?: string; width?: number; height?: number }
export type DocumentSpec = { data?: Buffer; caption?: string; mimetype?: string; fileName?: string }

/** A 1x1 transparent PNG, for tests that do not care about the picture. */
export const TINY_PNG = Buffer.from(
	'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
	'base64'
)

export function textMessage(text: string): proto.IMessage {
	return { conversation: text }
}

export function extendedTextMessage(text: string, extra: proto.Message.IExtendedTextMessage = {}): proto.IMessage {
	return { extendedTextMessage: { ...extra, text } }
}

/**
 * A media message's common fields: the bytes encrypted as WhatsApp does and published on the
 * stand-in's media host, so url/directPath/mediaKey really lead to them.
 */
export async function publishedMedia(host: MediaHost, data: Buffer, type: MediaType) {
	const media = await encryptMedia(data, type)
	const { url, directPath } = host.publish(media.body, type)
	return {
		url,
		directPath,
		mediaKey: media.mediaKey,
		fileSha256: media.fileSha256,
		fileEncSha256: media.fileEncSha256,
		fileLength: media.fileLength,
		mediaKeyTimestamp: Math.floor(Date.now() / 1000)
	}
}

export async function imageMessage(host: MediaHost, spec: ImageSpec): Promise<proto.IMessage> {
	return {
		imageMessage: {
			...(await publishedMedia(host, spec.data ?? TINY_PNG, 'image')),
			mimetype: spec.mimetype ?? 'image/png',
			caption: spec.caption,
			width: spec.width ?? 1,
			height: spec.height ?? 1
		}
	}
}

export async function documentMessage(host: MediaHost, spec: DocumentSpec): Promise<proto.IMessage> {
	const fileName = spec.fileName ?? 'document.pdf'
	return {
		documentMessage: {
			...(await publishedMedia(host, spec.data ?? Buffer.from('%PDF-1.4\n% stand-in document\n'), 'document')),
			mimetype: spec.mimetype ?? 'application/pdf',
			fileName,
			title: fileName,
			caption: spec.caption
		}
	}
}

/** The stanza `type` WhatsApp gives a message, and the `mediatype` of its `<enc>` if any. */
export function stanzaKind(message: proto.IMessage): { type: string; mediatype?: string } {
	if (message.imageMessage) return { type: 'media', mediatype: 'image' }
	if (message.documentMessage) return { type: 'media', mediatype: 'document' }
	if (message.videoMessage) return { type: 'media', mediatype: 'video' }
	if (message.audioMessage) return { type: 'media', mediatype: message.audioMessage.ptt ? 'ptt' : 'audio' }
	if (message.stickerMessage) return { type: 'media', mediatype: 'sticker' }
	return { type: 'text' }
}
