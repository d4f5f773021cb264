// One client WebSocket as the server sees it: Noise handshake, then encrypted binary nodes both ways.
import { decodeBinaryNode, encodeBinaryNode, type BinaryNode, type KeyPair, type proto } from '@whiskeysockets/baileys'
import { WebSocket } from 'ws'
import { FrameReader, ServerNoise, frame } from './noise.js'

/** A registration connection comes from fresh creds (it will show a QR); a login one from paired creds. */
export type ConnectionKind = 'registration' | 'login'

export type ConnectionEvents = {
	/** the handshake is done; `kind`, `clientPayload` and `clientStaticKey` are known */
	onHandshake(connection: ClientConnection): void | Promise<void>
	/** a decrypted node from the client; handlers run one at a time, in arrival order */
	onNode(connection: ClientConnection, node: BinaryNode): void | Promise<void>
	onClose(connection: ClientConnection): void
	/** a frame could not be handled: a stand-in bug or a protocol mismatch worth failing a test on */
	onError(connection: ClientConnection, error: unknown): void
	log(direction: 'in' | 'out', connection: ClientConnection, node: BinaryNode): void
}

/** How long a client gets to close the socket itself after a stream error before we cut it. */
const CLOSE_GRACE_MS = 2000

let nextConnectionId = 1

export class ClientConnection {
	readonly id = nextConnectionId++
	kind: ConnectionKind | undefined
	clientPayload: proto.ClientPayload | undefined
	/** the client's Noise static key: `creds.noiseKey.public`, which identifies a linked device */
	clientStaticKey: Buffer | undefined
	closed = false

	private readonly noise: ServerNoise
	private readonly reader = new FrameReader()
	private stage: 'hello' | 'finish' | 'transport' = 'hello'
	/** nodes are decoded asynchronously; this chain keeps their handling in arrival order */
	private processing: Promise<void> = Promise.resolve()
	private closeTimer: NodeJS.Timeout | undefined

	constructor(
		private readonly socket: WebSocket,
		serverStatic: KeyPair,
		encodedChain: Uint8Array,
		private readonly events: ConnectionEvents
	) {
		this.noise = new ServerNoise(serverStatic, encodedChain)
		socket.on('message', (data: Buffer) => this.receive(data))
		socket.on('close', () => this.markClosed())
		socket.on('error', () => this.markClosed())
	}

	get isOpen() {
		return !this.closed && this.socket.readyState === WebSocket.OPEN
	}

	send(stanza: BinaryNode) {
		if (!this.isOpen) return
		this.events.log('out', this, stanza)
		this.socket.send(frame(this.noise.encrypt(encodeBinaryNode(stanza))))
	}

	/**
	 * Send a final stanza (`<stream:error>`, `<failure>`) and let the client hang up, as WhatsApp does.
	 * Closing from our side at once would race Baileys' own handling: it could see the socket close
	 * before it decoded the stanza, and report "connection closed" instead of the stanza's reason.
	 */
	endWith(stanza: BinaryNode) {
		this.send(stanza)
		this.closeTimer = setTimeout(() => this.terminate(), CLOSE_GRACE_MS)
	}

	/**
	 * The network black-holes the connection: nothing the client sends is read any more (its closing
	 * frame included), and the TCP connection stays up.
	 */
	goSilent() {
		this.socket.pause()
	}

	/** Cut the TCP connection without a word: what a network failure looks like to the client. */
	terminate() {
		this.socket.terminate()
		this.markClosed()
	}

	private markClosed() {
		if (this.closed) return
		this.closed = true
		clearTimeout(this.closeTimer)
		this.events.onClose(this)
	}

	private receive(data: Buffer) {
		let frames: Buffer[]
		try {
			frames = this.reader.push(data)
		} catch {
			this.terminate()
			return
		}
		for (const payload of frames) {
			this.processing = this.processing
				.then(() => this.handleFrame(payload))
				.catch(error => {
					this.events.onError(this, error)
					// a failed handshake leaves nothing to talk over
					if (this.stage !== 'transport') this.terminate()
				})
		}
	}

	private async handleFrame(payload: Buffer) {
		// frames that arrived before the socket closed are still handled: a last stanza
		// (e.g. remove-companion-device right before the client hangs up) must not be lost
		if (this.closed && this.stage !== 'transport') return // a handshake nobody is waiting for
		switch (this.stage) {
			case 'hello':
				this.socket.send(frame(this.noise.respondToHello(payload)))
				this.stage = 'finish'
				return
			case 'finish': {
				const { clientStaticKey, clientPayload } = this.noise.readFinish(payload)
				this.clientStaticKey = clientStaticKey
				this.clientPayload = clientPayload
				// fresh creds carry the keys to register (devicePairingData); paired creds log in by username
				this.kind = clientPayload.devicePairingData ? 'registration' : 'login'
				this.stage = 'transport'
				await this.events.onHandshake(this)
				return
			}
			case 'transport': {
				const stanza = await decodeBinaryNode(this.noise.decrypt(payload))
				this.events.log('in', this, stanza)
				await this.events.onNode(this, stanza)
			}
		}
	}
}
