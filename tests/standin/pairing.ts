// Linking a companion device, as the primary phone and the server do it together:
// the QR names the companion's keys, the phone signs a device identity with its account key (ADV),
// the companion counter-signs it (pair-device-sign) and is then a linked device of the account.
// Mirrors Baileys' Utils/validate-connection.js (configureSuccessfulPairing) from the other side.
import {
	Curve,
	WA_ADV_ACCOUNT_SIG_PREFIX,
	WA_ADV_DEVICE_SIG_PREFIX,
	getBinaryNodeChild,
	hmacSign,
	proto,
	type BinaryNode,
	type KeyPair
} from '@whiskeysockets/baileys'
import type { PreKeyBundle } from './signal-peer.js'
import { bytesOf, node, unixNow } from './nodes.js'

/** The fields of the QR text `https://wa.me/settings/linked_devices#ref,noise,identity,adv,platform`. */
export type QrContents = { ref: string; noiseKey: string; identityKey: string; advSecret: string; platformId?: string }

export function parseQr(qr: string): QrContents {
	const fields = (qr.includes('#') ? qr.slice(qr.indexOf('#') + 1) : qr).split(',')
	const [ref, noiseKey, identityKey, advSecret, platformId] = fields
	if (!ref || !noiseKey || !identityKey || !advSecret) throw new Error(`not a WhatsApp pairing QR: ${qr}`)
	return { ref, noiseKey, identityKey, advSecret, platformId }
}

/** The Signal keys a companion registers with (ClientPayload.devicePairingData). */
export type RegistrationKeys = {
	registrationId: number
	identityKey: Buffer
	signedPreKey: { keyId: number; publicKey: Buffer; signature: Buffer }
}

export function registrationKeysFrom(payload: proto.IClientPayload): RegistrationKeys {
	const data = payload.devicePairingData
	if (!data?.eRegid || !data.eIdent || !data.eSkeyId || !data.eSkeyVal || !data.eSkeySig) {
		throw new Error('registration payload without devicePairingData keys')
	}
	return {
		registrationId: Buffer.from(data.eRegid).readUInt32BE(0),
		identityKey: Buffer.from(data.eIdent),
		signedPreKey: {
			keyId: Buffer.from(data.eSkeyId).readUIntBE(0, 3),
			publicKey: Buffer.from(data.eSkeyVal),
			signature: Buffer.from(data.eSkeySig)
		}
	}
}

/** What the server remembers about one linked device of the account. */
export type LinkedDevice = {
	deviceId: number
	/** base64 of the device's Noise static key: how a login is recognised */
	noiseKey: string
	keys: RegistrationKeys
	/** one-time pre-keys the device uploaded and nobody has fetched yet */
	preKeys: Map<number, Buffer>
	platform: string
	/** the phone has already run its first-login sync with this device (app-state key, history) */
	bootstrapped: boolean
}

/** The bundle others fetch to start a session with a linked device; each fetch uses up a pre-key. */
export function takeBundle(device: LinkedDevice): PreKeyBundle {
	const next = device.preKeys.entries().next()
	let preKey: PreKeyBundle['preKey']
	if (!next.done) {
		const [keyId, publicKey] = next.value
		device.preKeys.delete(keyId)
		preKey = { keyId, publicKey }
	}
	return {
		registrationId: device.keys.registrationId,
		identityKey: device.keys.identityKey,
		signedPreKey: device.keys.signedPreKey,
		preKey
	}
}

export type PairSuccessOptions = {
	id: string
	qr: QrContents
	accountKey: KeyPair
	deviceId: number
	phone: string
	lid: string
	platform: string
	/** business accounts announce their verified name here (`<biz name>`) */
	businessName?: string
	/**
	 * A forged approval: the account signature is made by a key other than the account key it names
	 * (the HMAC over it is still right). A companion must refuse it. Default false.
	 */
	forgeAccountSignature?: boolean
}

/** `<iq><pair-success>`: the phone's signed approval of the companion whose QR it scanned. */
export function pairSuccessNode(options: PairSuccessOptions): BinaryNode {
	const { qr, accountKey, deviceId } = options
	const deviceDetails = proto.ADVDeviceIdentity.encode({ rawId: 1, timestamp: unixNow(), keyIndex: deviceId }).finish()
	const identityKey = Buffer.from(qr.identityKey, 'base64')
	const signer = options.forgeAccountSignature ? Curve.generateKeyPair() : accountKey
	const accountSignature = Curve.sign(
		signer.private,
		Buffer.concat([WA_ADV_ACCOUNT_SIG_PREFIX, deviceDetails, identityKey])
	)
	const details = proto.ADVSignedDeviceIdentity.encode({
		details: deviceDetails,
		accountSignatureKey: accountKey.public,
		accountSignature
	}).finish()
	// the HMAC with the QR's adv secret proves to the companion that its own QR was scanned
	const hmac = hmacSign(details, Buffer.from(qr.advSecret, 'base64'))
	const deviceIdentity = proto.ADVSignedDeviceIdentityHMAC.encode({ details, hmac }).finish()
	return node('iq', { from: 's.whatsapp.net', type: 'set', id: options.id, xmlns: 'md', t: String(unixNow()) }, [
		node('pair-success', {}, [
			node('device-identity', { 'key-index': String(deviceId) }, deviceIdentity),
			node('platform', { name: options.platform }),
			node('device', {
				jid: `${options.phone}:${deviceId}@s.whatsapp.net`,
				lid: `${options.lid}:${deviceId}@lid`
			}),
			...(options.businessName ? [node('biz', { name: options.businessName })] : [])
		])
	])
}

/**
 * Check the companion's answer to pair-success: its identity key must sign the device details and
 * the account key, which proves it holds the private half of the identity the QR announced.
 */
export function verifyPairDeviceSign(reply: BinaryNode, identityKey: Buffer, accountKey: KeyPair): boolean {
	const signed = bytesOf(getBinaryNodeChild(getBinaryNodeChild(reply, 'pair-device-sign'), 'device-identity'))
	if (!signed) return false
	const identity = proto.ADVSignedDeviceIdentity.decode(signed)
	if (!identity.details || !identity.deviceSignature) return false
	const message = Buffer.concat([WA_ADV_DEVICE_SIG_PREFIX, identity.details, identityKey, accountKey.public])
	return Curve.verify(identityKey, message, identity.deviceSignature)
}
