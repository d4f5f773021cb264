// A simulated WhatsApp device on the other end of the conversation (a contact's phone, or the account's
// own primary phone). Its Signal side is Baileys' own repository (`makeSignalRepository`, i.e. libsignal)
// over an in-memory store, so everything it sends is what a real WhatsApp client would produce.
import {
	Curve,
	DEFAULT_CONNECTION_CONFIG,
	addTransactionCapability,
	encodeWAMessage,
	generateSignalPubKey,
	initAuthCreds,
	proto,
	unpadRandomMax16,
	type AuthenticationCreds,
	type BinaryNode,
	type SignalRepositoryWithLIDStore
} from '@whiskeysockets/baileys'
import pino from 'pino'
import { MemoryKeyStore } from './memory-keys.js'
import { bigEndian, node } from './nodes.js'

const silent = pino({ level: 'silent' })

/** What a device publishes so others can start a Signal session with it (one `<user>` of a key fetch). */
export type PreKeyBundle = {
	registrationId: number
	/** 32-byte Curve25519 public keys, as they travel in nodes */
	identityKey: Uint8Array
	signedPreKey: { keyId: number; publicKey: Uint8Array; signature: Uint8Array }
	preKey?: { keyId: number; publicKey: Uint8Array }
}

export type Ciphertext = { type: 'pkmsg' | 'msg'; ciphertext: Uint8Array }

/** The `<user>` node answering an `<iq xmlns="encrypt"><key>` fetch for one device. */
export function preKeyBundleNode(jid: string, bundle: PreKeyBundle): BinaryNode {
	return node('user', { jid }, [registrationNode(bundle.registrationId), ...bundleKeyNodes(bundle)])
}

/** `<registration>`: a device's Signal registration id, 4 bytes big-endian. */
export function registrationNode(registrationId: number): BinaryNode {
	return node('registration', {}, bigEndian(registrationId, 4))
}

/** The keys of a bundle as they travel in a key fetch and in a retry receipt's `<keys>`. */
export function bundleKeyNodes(bundle: PreKeyBundle): BinaryNode[] {
	return [
		node('type', {}, Buffer.from([5])), // KEY_BUNDLE_TYPE: Curve25519 ("djb") keys
		node('identity', {}, bundle.identityKey),
		node('skey', {}, [
			node('id', {}, bigEndian(bundle.signedPreKey.keyId, 3)),
			node('value', {}, bundle.signedPreKey.publicKey),
			node('signature', {}, bundle.signedPreKey.signature)
		]),
		...(bundle.preKey
			? [node('key', {}, [node('id', {}, bigEndian(bundle.preKey.keyId, 3)), node('value', {}, bundle.preKey.publicKey)])]
			: [])
	]
}

export class SignalPeer {
	private readonly creds: AuthenticationCreds = initAuthCreds()
	private readonly keys = new MemoryKeyStore()
	private readonly repository: SignalRepositoryWithLIDStore
	private nextPreKeyId = 1

	/** @param address this device's own JID (e.g. `88880002222@lid`), the name it signs group messages with */
	constructor(readonly address: string) {
		this.repository = DEFAULT_CONNECTION_CONFIG.makeSignalRepository(
			{ creds: this.creds, keys: addTransactionCapability(this.keys, silent, { maxCommitRetries: 1, delayBetweenTriesMs: 0 }) },
			silent,
			async () => []
		)
	}

	/**
	 * Publish a bundle with a fresh one-time pre-key, as the server hands out one per fetch. The private
	 * half stays in this peer's store, so the `pkmsg` that follows can be decrypted.
	 */
	issueBundle(): PreKeyBundle {
		const keyId = this.nextPreKeyId++
		const preKey = Curve.generateKeyPair()
		this.keys.set({ 'pre-key': { [keyId]: preKey } })
		return {
			registrationId: this.creds.registrationId,
			identityKey: this.creds.signedIdentityKey.public,
			signedPreKey: {
				keyId: this.creds.signedPreKey.keyId,
				publicKey: this.creds.signedPreKey.keyPair.public,
				signature: this.creds.signedPreKey.signature
			},
			preKey: { keyId, publicKey: preKey.public }
		}
	}

	/** This device's Signal registration id (what it puts in `<registration>`). */
	get registrationId(): number {
		return this.creds.registrationId
	}

	async hasSessionWith(device: string): Promise<boolean> {
		return (await this.repository.validateSession(device)).exists
	}

	/** Start a session from the other device's published bundle (what a phone does before its first message). */
	async startSession(device: string, bundle: PreKeyBundle): Promise<void> {
		await this.repository.injectE2ESession({
			jid: device,
			session: {
				registrationId: bundle.registrationId,
				identityKey: generateSignalPubKey(bundle.identityKey),
				signedPreKey: { ...bundle.signedPreKey, publicKey: generateSignalPubKey(bundle.signedPreKey.publicKey) },
				preKey: bundle.preKey && { ...bundle.preKey, publicKey: generateSignalPubKey(bundle.preKey.publicKey) }
			}
		})
	}

	/** `pkmsg` until the other side has answered on this session, `msg` after that (Signal's own rule). */
	encrypt(device: string, message: proto.IMessage): Promise<Ciphertext> {
		return this.repository.encryptMessage({ jid: device, data: encodeWAMessage(message) })
	}

	async decrypt(device: string, type: 'pkmsg' | 'msg', ciphertext: Uint8Array): Promise<proto.Message> {
		const padded = await this.repository.decryptMessage({ jid: device, type, ciphertext })
		return proto.Message.decode(unpadRandomMax16(padded))
	}

	/** Encrypt for a group with this peer's sender key; the distribution message lets others decrypt it. */
	async encryptForGroup(group: string, message: proto.IMessage) {
		const { ciphertext, senderKeyDistributionMessage } = await this.repository.encryptGroupMessage({
			group,
			meId: this.address,
			data: encodeWAMessage(message)
		})
		return { ciphertext, distribution: senderKeyDistributionMessage }
	}

	async acceptSenderKey(author: string, distribution: proto.Message.ISenderKeyDistributionMessage): Promise<void> {
		await this.repository.processSenderKeyDistributionMessage({ authorJid: author, item: distribution })
	}

	async decryptGroup(group: string, author: string, ciphertext: Uint8Array): Promise<proto.Message> {
		const padded = await this.repository.decryptGroupMessage({ group, authorJid: author, msg: ciphertext })
		return proto.Message.decode(unpadRandomMax16(padded))
	}
}
