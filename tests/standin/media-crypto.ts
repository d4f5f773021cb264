// WhatsApp media encryption, as a phone does it before uploading: AES-256-CBC with keys expanded from
// a random 32-byte media key (HKDF, info depends on the media type), then a 10-byte HMAC over iv+ciphertext.
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto'
import { getMediaKeys, type MediaType } from '@whiskeysockets/baileys'

export type EncryptedMedia = {
	mediaKey: Buffer
	/** what is uploaded: ciphertext followed by the truncated MAC */
	body: Buffer
	fileSha256: Buffer
	fileEncSha256: Buffer
	fileLength: number
}

const MAC_LENGTH = 10

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest()

async function keysFor(mediaKey: Uint8Array, type: MediaType) {
	const { iv, cipherKey, macKey } = await getMediaKeys(mediaKey, type)
	if (!macKey) throw new Error(`no MAC key derived for ${type}`)
	return { iv, cipherKey, macKey }
}

export async function encryptMedia(plaintext: Buffer, type: MediaType): Promise<EncryptedMedia> {
	const mediaKey = randomBytes(32)
	const { iv, cipherKey, macKey } = await keysFor(mediaKey, type)
	const cipher = createCipheriv('aes-256-cbc', cipherKey, iv)
	const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
	const mac = createHmac('sha256', macKey).update(iv).update(ciphertext).digest().subarray(0, MAC_LENGTH)
	const body = Buffer.concat([ciphertext, mac])
	return { mediaKey, body, fileSha256: sha256(plaintext), fileEncSha256: sha256(body), fileLength: plaintext.length }
}
