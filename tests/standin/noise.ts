// The server side of WhatsApp's transport: Noise_XX_25519_AESGCM_SHA256 with a certificate chain,
// and the 3-byte length framing. It mirrors Baileys' client (Utils/noise-handler.js) step by step.
//
// TEST-ONLY: Baileys checks the server certificate against the root key in the exported, mutable
// `WA_CERT_DETAILS.PUBLIC_KEY`. `trustTestRoot()` (called when a stand-in starts) replaces it with the
// stand-in's test root, so only a Baileys in this process, or one that preloaded trust-test-root.ts,
// trusts the stand-in. Nothing outside tests/ may do this.
import { createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, hkdfSync } from 'node:crypto'
import { Curve, NOISE_MODE, NOISE_WA_HEADER, WA_CERT_DETAILS, proto, type KeyPair } from '@whiskeysockets/baileys'

const EMPTY = Buffer.alloc(0)

/**
 * The test root's private key: fixed, so that a Baileys in another process (a service started as a
 * child process) can be told to trust it too, by preloading `trust-test-root.ts`. Never a secret:
 * it only ever vouches for the stand-in.
 */
const TEST_ROOT_PRIVATE_KEY = Buffer.from('58d5a2c2e1b74a4f9a0c3d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809102', 'hex')

/** The X25519 public key of a raw 32-byte private key (node:crypto wants it wrapped as PKCS#8). */
function x25519PublicKey(privateKey: Buffer): Buffer {
	const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), privateKey])
	const spki = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' })
	return spki.subarray(spki.length - 32)
}

const testRoot: KeyPair = { private: TEST_ROOT_PRIVATE_KEY, public: x25519PublicKey(TEST_ROOT_PRIVATE_KEY) }

/** Make this process's Baileys trust certificates issued by the stand-in's test root. */
export function trustTestRoot() {
	WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(testRoot.public)
}

type CertificateAuthority = { intermediate: KeyPair; intermediateSerial: number }
let authority: CertificateAuthority | undefined

/** The intermediate certificate's key: made once per process, signed by the test root. */
function certificateAuthority(): CertificateAuthority {
	if (!authority) {
		trustTestRoot()
		authority = { intermediate: Curve.generateKeyPair(), intermediateSerial: 1 }
	}
	return authority
}

function signedCertificate(details: proto.CertChain.NoiseCertificate.IDetails, signer: KeyPair) {
	const encoded = proto.CertChain.NoiseCertificate.Details.encode(details).finish()
	return { details: encoded, signature: Curve.sign(signer.private, encoded) }
}

/**
 * The certificate chain a stand-in presents in its ServerHello:
 * - 'valid' (default): the intermediate signed by the test root the client trusts, the leaf by the intermediate;
 * - 'wrong-root': the intermediate signed by another root, one the client does not trust (a forged server);
 * - 'wrong-intermediate': the leaf signed by a key other than the intermediate's.
 * Everything else (serials, keys) is as in a valid chain, so only the signatures are wrong.
 */
export type CertificateChainScenario = 'valid' | 'wrong-root' | 'wrong-intermediate'

/** A server static key pair and the encoded chain (root -> intermediate -> leaf) that vouches for it. */
export function testCertificateChain(scenario: CertificateChainScenario = 'valid'): { serverStatic: KeyPair; encodedChain: Uint8Array } {
	const ca = certificateAuthority()
	const serverStatic = Curve.generateKeyPair()
	const root = scenario === 'wrong-root' ? Curve.generateKeyPair() : testRoot
	const intermediateSigner = scenario === 'wrong-intermediate' ? Curve.generateKeyPair() : ca.intermediate
	const encodedChain = proto.CertChain.encode({
		intermediate: signedCertificate(
			{ serial: ca.intermediateSerial, issuerSerial: WA_CERT_DETAILS.SERIAL, key: ca.intermediate.public },
			root
		),
		leaf: signedCertificate({ serial: 2, issuerSerial: ca.intermediateSerial, key: serverStatic.public }, intermediateSigner)
	}).finish()
	return { serverStatic, encodedChain }
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest()
const hkdf64 = (ikm: Uint8Array, salt: Uint8Array) => Buffer.from(hkdfSync('sha256', ikm, salt, EMPTY, 64))
const gcmIv = (counter: number) => {
	const iv = Buffer.alloc(12)
	iv.writeUInt32BE(counter, 8)
	return iv
}

function gcmEncrypt(plaintext: Uint8Array, key: Uint8Array, counter: number, aad: Uint8Array) {
	const cipher = createCipheriv('aes-256-gcm', key, gcmIv(counter))
	cipher.setAAD(aad)
	return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
}

function gcmDecrypt(ciphertext: Uint8Array, key: Uint8Array, counter: number, aad: Uint8Array) {
	const data = Buffer.from(ciphertext)
	const decipher = createDecipheriv('aes-256-gcm', key, gcmIv(counter))
	decipher.setAAD(aad)
	decipher.setAuthTag(data.subarray(data.length - 16))
	return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()])
}

export type HandshakeResult = { clientStaticKey: Buffer; clientPayload: proto.ClientPayload }

/**
 * One connection's Noise state. Call `respondToHello` with the client's first frame, send what it
 * returns, then `readFinish` with the second frame; after that `encrypt`/`decrypt` carry nodes.
 */
export class ServerNoise {
	private hash = Buffer.from(NOISE_MODE) // exactly 32 bytes, used as-is like the client does
	private salt = this.hash
	private key = this.hash
	private counter = 0
	private transport?: { encKey: Buffer; decKey: Buffer; readCounter: number; writeCounter: number }
	private ephemeral = Curve.generateKeyPair()

	constructor(private readonly serverStatic: KeyPair, private readonly encodedChain: Uint8Array) {
		this.authenticate(NOISE_WA_HEADER)
	}

	/** -> e, ee, s, es: answer the client's ephemeral key with ours, our static key and the certificates. */
	respondToHello(frame: Uint8Array): Uint8Array {
		const clientEphemeral = proto.HandshakeMessage.decode(frame).clientHello?.ephemeral
		if (!clientEphemeral) throw new Error('expected a ClientHello')
		this.authenticate(clientEphemeral)
		this.authenticate(this.ephemeral.public)
		this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientEphemeral))
		const staticEncrypted = this.encrypt(this.serverStatic.public)
		this.mixIntoKey(Curve.sharedKey(this.serverStatic.private, clientEphemeral))
		const payload = this.encrypt(this.encodedChain)
		return proto.HandshakeMessage.encode({
			serverHello: { ephemeral: this.ephemeral.public, static: staticEncrypted, payload }
		}).finish()
	}

	/** <- s, se: learn the client's static (noise) key and its ClientPayload, then switch to transport keys. */
	readFinish(frame: Uint8Array): HandshakeResult {
		const finish = proto.HandshakeMessage.decode(frame).clientFinish
		if (!finish?.static || !finish.payload) throw new Error('expected a ClientFinish')
		const clientStaticKey = this.decrypt(finish.static)
		this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientStaticKey))
		const clientPayload = proto.ClientPayload.decode(this.decrypt(finish.payload))
		const keys = hkdf64(EMPTY, this.salt)
		// the client writes with the first half and reads with the second: we are its mirror image
		this.transport = { encKey: keys.subarray(32), decKey: keys.subarray(0, 32), readCounter: 0, writeCounter: 0 }
		return { clientStaticKey, clientPayload }
	}

	encrypt(plaintext: Uint8Array): Buffer {
		if (this.transport) return gcmEncrypt(plaintext, this.transport.encKey, this.transport.writeCounter++, EMPTY)
		const ciphertext = gcmEncrypt(plaintext, this.key, this.counter++, this.hash)
		this.authenticate(ciphertext)
		return ciphertext
	}

	decrypt(ciphertext: Uint8Array): Buffer {
		if (this.transport) return gcmDecrypt(ciphertext, this.transport.decKey, this.transport.readCounter++, EMPTY)
		const plaintext = gcmDecrypt(ciphertext, this.key, this.counter++, this.hash)
		this.authenticate(ciphertext)
		return plaintext
	}

	private authenticate(data: Uint8Array) {
		this.hash = sha256(Buffer.concat([this.hash, data]))
	}

	private mixIntoKey(data: Uint8Array) {
		const keys = hkdf64(data, this.salt)
		this.salt = keys.subarray(0, 32)
		this.key = keys.subarray(32)
		this.counter = 0
	}
}

/** Prefix a payload with its 3-byte big-endian length, the framing both directions use. */
export function frame(payload: Uint8Array): Buffer {
	const header = Buffer.alloc(3)
	header.writeUIntBE(payload.length, 0, 3)
	return Buffer.concat([header, payload])
}

/**
 * Splits the client's byte stream into frames. The very first bytes are the 4-byte intro header
 * ("WA", version, dictionary version); a routing prefix ("ED...") only follows `edge_routing`, which
 * the stand-in never sends, so it is refused.
 */
export class FrameReader {
	private buffered = EMPTY
	private sawIntro = false

	push(data: Buffer): Buffer[] {
		this.buffered = Buffer.concat([this.buffered, data])
		if (!this.sawIntro) {
			if (this.buffered.length < NOISE_WA_HEADER.length) return []
			const intro = this.buffered.subarray(0, NOISE_WA_HEADER.length)
			if (!intro.equals(NOISE_WA_HEADER)) throw new Error(`unexpected intro header ${intro.toString('hex')}`)
			this.buffered = this.buffered.subarray(NOISE_WA_HEADER.length)
			this.sawIntro = true
		}
		const frames: Buffer[] = []
		while (this.buffered.length >= 3) {
			const length = this.buffered.readUIntBE(0, 3)
			if (this.buffered.length < 3 + length) break
			frames.push(this.buffered.subarray(3, 3 + length))
			this.buffered = this.buffered.subarray(3 + length)
		}
		return frames
	}
}
