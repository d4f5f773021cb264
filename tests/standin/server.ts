// The stand-in WhatsApp server: a WebSocket endpoint on 127.0.0.1 that speaks enough of the real
// protocol for an unmodified Baileys to pair, log in, receive and send messages, plus the scenario API
// tests use to play the other side (the account's phone, contacts, the server's own decisions).
//
// The device under test is one linked device of the account `phone`. What the server must remember
// across that device's reconnects (its pairing, its pre-keys, the contacts' Signal sessions, messages
// waiting for it) lives in the StandIn instance.
//
// Layers, each in its own file: noise.ts + client-connection.ts (transport), device-sessions.ts
// (QR, pairing, login), usync.ts / prekeys.ts / groups.ts / app-state.ts (queries the server answers),
// contact-phones.ts and primary-phone.ts (the simulated phones), outbox.ts (what the device sends).
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import {
	Curve,
	binaryNodeToString,
	downloadContentFromMessage,
	getBinaryNodeChild,
	type BinaryNode,
	type MediaType,
	type SocketConfig,
	type WAPatchName,
	type proto
} from '@whiskeysockets/baileys'
import { AppStateServer } from './app-state.js'
import { ChangeFeed } from './change-feed.js'
import { ClientConnection } from './client-connection.js'
import { clientVersionOf, devicePropsOf, outdatedVersionFailure, type ClientVersion } from './client-payload.js'
import { documentMessage, extendedTextMessage, imageMessage, textMessage, type DocumentSpec, type ImageSpec } from './contact-messages.js'
import { ContactPhones, type SendOptions } from './contact-phones.js'
import { DeviceSessions, type PairedDevice, type ScanOptions } from './device-sessions.js'
import { ProfileServer } from './profile.js'
import { Directory, type ContactSpec, type GroupSpec, type StandInContact } from './directory.js'
import { GroupServer } from './group-server.js'
import { groupQueryKind, type GroupQueryKind } from './groups.js'
import type { HistoryContent } from './history-sync.js'
import { MediaHost, type StoredMedia } from './media-host.js'
import { bytesOf, children, childrenNamed, firstChild, iqResult, node, unixNow } from './nodes.js'
import { testCertificateChain, type CertificateChainScenario } from './noise.js'
import { openOutgoing, type OutgoingMessage } from './outbox.js'
import type { LinkedDevice } from './pairing.js'
import { answerEncryptQuery } from './prekeys.js'
import { PrimaryPhone } from './primary-phone.js'
import { retryReceiptNode, type RetryOptions } from './retry-receipts.js'
import { answerUsync } from './usync.js'

export type { PairedDevice, ScanOptions } from './device-sessions.js'
export type { SendOptions } from './contact-phones.js'
export type { ClientVersion } from './client-payload.js'
export type { RetryOptions } from './retry-receipts.js'

export type StandInOptions = {
	/** the account's phone number (digits), default 15550001111 */
	phone?: string
	/** the account's LID (digits), default 99990001111 */
	lid?: string
	/** refs per pair-device; Baileys shows one QR per ref and closes with 408 when they run out (default 6) */
	qrRefs?: number
	/** contacts' phones confirm delivery of what the device sends (default true) */
	deliveryReceipts?: boolean
	/**
	 * how long a recipient's phone takes to confirm delivery (default 150 ms). With no delay the receipt
	 * can beat Baileys' own upsert of the sent message, and Baileys folds it into that upsert's status
	 * instead of emitting messages.update.
	 */
	deliveryDelayMs?: number
	/** print every stanza (also on with STANDIN_LOG=1), or a function to receive the lines */
	log?: boolean | ((line: string) => void)
	/**
	 * the Noise certificate chain presented to clients (default 'valid'); 'wrong-root' and
	 * 'wrong-intermediate' play a server whose chain a client must refuse, see noise.ts
	 */
	certificateChain?: CertificateChainScenario
}

/**
 * Where a stand-in takes its clients' connections. By default it listens on its own loopback port;
 * a fleet (fleet.ts) hands it a `noServer` WebSocketServer it routes upgrades to, and the URL that
 * reaches it, since such a server has no address of its own.
 */
export type StandInEndpoint = { wss: WebSocketServer; url: string }

/** Extra Baileys config a test must merge into its socket config to use the stand-in. */
export type StandInSocketOptions = Pick<SocketConfig, 'waWebSocketUrl' | 'fetchAgent' | 'options'>

export type AddressBookEntry = { phone: string; name?: string; firstName?: string; lid?: string }

export type ReceivedReceipt = { id: string; type?: string; to?: string; participant?: string; stanza: BinaryNode }

/** How many w:g2 queries the device made: one group's metadata, and the list of joined groups. */
export type GroupQueryCounts = { metadata: number; participating: number }

type Sender = ContactSpec | StandInContact

const DEFAULT_TIMEOUT_MS = 10_000

/** Receipt types that say the device received a message (no type is the plain delivery receipt). */
const DELIVERY_RECEIPTS = new Set([undefined, 'inactive', 'sender', 'peer_msg'])

export class StandIn {
	readonly directory: Directory
	/** groups as the server holds them: every w:g2 request answered, changes notified (group-server.ts) */
	readonly groups: GroupServer
	private readonly feed = new ChangeFeed()
	private readonly appState = new AppStateServer()
	private readonly sessions: DeviceSessions
	private readonly phoneOfAccount: PrimaryPhone
	private readonly contactPhones: ContactPhones
	private readonly connections = new Set<ClientConnection>()
	private readonly sent: OutgoingMessage[] = []
	private readonly peerRequests: proto.Message[] = []
	private readonly receiptsReceived: ReceivedReceipt[] = []
	private readonly failures: unknown[] = []
	/** the device's acks of what the stand-in sent it (Baileys acks a receipt once it has handled it) */
	private readonly acksReceived: Record<string, string>[] = []
	/**
	 * Messages a contact sent to the device, by id, so that its phone can send one again when the
	 * device asks (a retry receipt), as a real phone does.
	 */
	private readonly sentToDevice = new Map<string, { from: StandInContact; message: proto.IMessage; options: SendOptions }>()
	/** ids of messages the device confirmed having received; WhatsApp never sends those again */
	private readonly confirmedByDevice = new Set<string>()
	/** ids of messages the device refused (a nack); WhatsApp does not send those again either */
	private readonly refusedByDevice = new Set<string>()
	/** Profile pictures and business profiles; counts the queries (`standin.profiles.queries(...)`). */
	readonly profiles: ProfileServer
	private readonly groupQueryLog: { kind: GroupQueryKind; jid?: string }[] = []
	private readonly versions: ClientVersion[] = []
	private readonly registrations: proto.DeviceProps[] = []
	private versionRejected: (version: ClientVersion) => boolean = () => false
	/** query namespaces (iq xmlns) the server leaves unanswered, see ignoreQueries() */
	private ignoredQueries = new Set<string>()
	/** app-state versions the device has fetched, to know when pushed contacts arrived */
	private readonly servedAppState: number[] = []
	private readonly timers = new Set<NodeJS.Timeout>()
	private readonly log: ((line: string) => void) | undefined

	private closing: Promise<void> | undefined

	private constructor(
		private readonly endpoint: StandInEndpoint,
		private readonly media: MediaHost,
		private readonly options: StandInOptions & { phone: string; lid: string }
	) {
		this.directory = new Directory(options.phone, options.lid)
		this.sessions = new DeviceSessions(this.directory, Curve.generateKeyPair(), options.qrRefs ?? 6, this.feed, {
			onPaired: (_device, scan) => {
				if (scan.pushName) this.phoneOfAccount.setPushName(scan.pushName)
			},
			onEstablished: device => this.phoneOfAccount.welcome(device)
		})
		this.phoneOfAccount = new PrimaryPhone(
			this.directory,
			this.sessions,
			this.appState,
			id => this.waitForReceipt(id),
			(where, error) => this.fail(where, error)
		)
		this.contactPhones = new ContactPhones(this.directory)
		this.profiles = new ProfileServer(this.directory)
		this.groups = new GroupServer(this.directory, {
			deliver: stanza => {
				const device = this.sessions.latest()
				if (device) this.sessions.deliver(device, stanza)
			},
			handled: (id, timeoutMs) =>
				this.feed.waitFor(`the device to handle ${id}`, timeoutMs, () => this.acksReceived.find(ack => ack.class === 'notification' && ack.id === id))
		})
		const log = options.log ?? !!process.env.STANDIN_LOG
		this.log = typeof log === 'function' ? log : log ? (line: string) => console.error(line) : undefined

		const { serverStatic, encodedChain } = testCertificateChain(options.certificateChain)
		endpoint.wss.on('connection', (socket: WebSocket) => {
			const connection = new ClientConnection(socket, serverStatic, encodedChain, {
				onHandshake: connection => this.onHandshake(connection),
				onNode: (connection, stanza) => this.onNode(connection, stanza),
				onClose: connection => {
					this.connections.delete(connection)
					this.sessions.onClose(connection)
				},
				onError: (connection, error) => this.fail(`connection ${connection.id}`, error),
				log: (direction, connection, stanza) => this.logStanza(direction, connection, stanza)
			})
			this.connections.add(connection)
		})
	}

	/** @param endpoint a server to take connections from instead of a port of its own (see fleet.ts) */
	static async start(options: StandInOptions = {}, endpoint?: StandInEndpoint): Promise<StandIn> {
		const media = await MediaHost.start()
		return new StandIn(endpoint ?? (await listenOnLoopback()), media, {
			...options,
			phone: options.phone ?? '15550001111',
			lid: options.lid ?? '99990001111'
		})
	}

	/** For Baileys' `waWebSocketUrl`: `ws://127.0.0.1:<port>/ws/chat`, or the fleet URL of a fleet member */
	get url(): string {
		return this.endpoint.url
	}

	/** Merge into the Baileys socket config: the URL, and agents that trust the media host's certificate. */
	get socketOptions(): StandInSocketOptions {
		return { waWebSocketUrl: this.url, fetchAgent: this.media.trust.fetchAgent, options: this.media.trust.options }
	}

	get phone(): string {
		return this.options.phone
	}

	get lid(): string {
		return this.options.lid
	}

	// ---- pairing and the connection's life --------------------------------------------------------

	/** Resolves with the refs on show once a registering client has been given QR refs. */
	waitForQr(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string[]> {
		return this.feed.waitFor('a QR to be shown', timeoutMs, () => this.sessions.shownRefs())
	}

	/** Give the registering client fresh refs (a new pair-device): Baileys shows a new QR at once. */
	rotateQr(): string[] {
		return this.sessions.rotateQr()
	}

	/**
	 * The phone scans a QR: the text Baileys put in `connection.update {qr}` (or the service shows).
	 * Resolves once the companion has signed its identity; the server then asks it to restart (515),
	 * and its next connection logs in as the new linked device.
	 */
	scanQr(qr: string, options: ScanOptions = {}): Promise<PairedDevice> {
		return this.sessions.scanQr(qr, options)
	}

	/**
	 * Resolves when the device is logged in and has finished its post-login handshake (pre-keys,
	 * passive mode): immediately if it already is.
	 */
	waitForLogin(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<PairedDevice> {
		return this.feed.waitFor('a logged-in device', timeoutMs, () => {
			const live = this.sessions.live()
			return live && this.sessions.describe(live.device)
		})
	}

	/** The linked device currently paired (connected or not). */
	get pairedDevice(): PairedDevice | undefined {
		const device = this.sessions.latest()
		return device && this.sessions.describe(device)
	}

	/** Resolves once no device is linked any more (after unlink(), or the device logging itself out). */
	waitForUnlinked(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<true> {
		return this.feed.waitFor('the device to be unlinked', timeoutMs, () => (this.sessions.latest() ? undefined : true))
	}

	get isConnected(): boolean {
		return !!this.sessions.live()
	}

	/** The phone removes the linked device: the client is told 401 (device_removed) and the pairing is gone. */
	unlink() {
		this.sessions.forget(
			this.requireDevice(),
			node('stream:error', { code: '401' }, [node('conflict', { type: 'device_removed' })])
		)
	}

	/** Another client took over this session: the device is told 440 (conflict, replaced). */
	conflict() {
		this.sessions.end(this.requireLive().connection, node('stream:error', {}, [node('conflict', { type: 'replaced' })]))
	}

	/** The network drops: the TCP connection is cut without a closing stanza. */
	drop() {
		this.requireLive().connection.terminate()
	}

	/** The network black-holes the connection: what the device sends no longer arrives, and it is not cut. */
	blackHole() {
		this.requireLive().connection.goSilent()
	}

	/**
	 * Refuse client versions the way WhatsApp refuses outdated ones: the handshake (login or
	 * registration) is answered with `<failure reason="405">` and Baileys closes with statusCode 405.
	 * `true` refuses every version, a function the versions it returns true for, `false` none.
	 */
	rejectVersion(reject: boolean | ((version: ClientVersion) => boolean) = true) {
		this.versionRejected = typeof reject === 'function' ? reject : () => reject
	}

	/**
	 * Leave the device's queries in these namespaces unanswered, as a stalled server would: with
	 * 'usync', a send to a contact whose devices the device does not know yet hangs in Baileys'
	 * device lookup. No arguments answers everything again.
	 */
	ignoreQueries(...xmlns: string[]) {
		this.ignoredQueries = new Set(xmlns)
	}

	/** The app version each connecting client presented (Baileys' `version` config), oldest first. */
	clientVersions(): ClientVersion[] {
		return [...this.versions]
	}

	/**
	 * The DeviceProps the latest registering (QR-showing) client sent: os, platformType, and the
	 * history it asks for (`requireFullSync` is Baileys' `syncFullHistory`; `historySyncConfig`).
	 */
	registrationProps(): proto.DeviceProps | undefined {
		return this.registrations.at(-1)
	}

	// ---- the world around the device --------------------------------------------------------------

	/** A contact (created on first use): a WhatsApp user with its own phone and Signal keys. */
	contact(spec: ContactSpec): StandInContact {
		return this.directory.contact(spec)
	}

	/** Numbers on WhatsApp besides the contacts (onWhatsApp answers `exists` for these). */
	setRegistered(phones: string[]) {
		this.directory.setRegistered(phones)
	}

	/** The groups the account is in (answers groupFetchAllParticipating and group metadata). */
	setGroups(groups: GroupSpec[]) {
		this.directory.setGroups(groups)
	}

	/**
	 * Save entries in the account's address book, as the phone does: app-state patches and a
	 * server_sync notification; Baileys fetches them and emits `contacts.upsert`. Resolves when the
	 * device has fetched them (at once if it is offline: it is told at its next login).
	 */
	async pushContacts(entries: AddressBookEntry[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
		const saved = entries.map(entry => {
			const contact = this.contact({ phone: entry.phone, lid: entry.lid })
			return { jid: contact.pnJid, lidJid: contact.lidJid, fullName: entry.name, firstName: entry.firstName }
		})
		const version = await this.phoneOfAccount.saveContacts(this.requireDevice(), saved)
		if (!this.sessions.live()) return
		await this.feed.waitFor('the device to fetch the address book', timeoutMs, () =>
			this.servedAppState.some(served => served >= version) ? true : undefined
		)
	}

	/** The phone sends a history sync chunk (Baileys: `messaging-history.set`). Resolves with its message id. */
	async sendHistorySync(content: HistoryContent, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
		const id = await this.phoneOfAccount.sendHistory(this.requireDevice(), content)
		if (this.sessions.live()) await this.waitForReceipt(id, timeoutMs)
		return id
	}

	// ---- contacts writing to the device -----------------------------------------------------------

	/** A contact's phone sends a Signal-encrypted message to the device. Returns the message id. */
	async sendMessage(from: Sender, message: proto.IMessage, options: SendOptions = {}): Promise<string> {
		const device = this.requireDevice()
		const contact = this.contact(from)
		const stanza = await this.contactPhones.messageStanza(contact, device, message, options)
		const id = stanza.attrs.id ?? ''
		this.sentToDevice.set(id, { from: contact, message, options: { ...options, id } })
		this.sessions.deliver(device, stanza)
		return id
	}

	sendText(from: Sender, text: string, options?: SendOptions): Promise<string> {
		return this.sendMessage(from, textMessage(text), options)
	}

	sendExtendedText(from: Sender, text: string, options?: SendOptions & { extra?: proto.Message.IExtendedTextMessage }): Promise<string> {
		return this.sendMessage(from, extendedTextMessage(text, options?.extra), options)
	}

	/** An image, encrypted and published on the media host (a tiny PNG unless `data` is given). */
	async sendImage(from: Sender, image: ImageSpec, options?: SendOptions): Promise<string> {
		return this.sendMessage(from, await imageMessage(this.media, image), options)
	}

	async sendDocument(from: Sender, document: DocumentSpec, options?: SendOptions): Promise<string> {
		return this.sendMessage(from, await documentMessage(this.media, document), options)
	}

	/** Encrypts now, hands over later: `deliver()` sends them all at once, a burst not paced by encryption. */
	async prepareBurst(from: Sender, messages: proto.IMessage[], options: SendOptions = {}): Promise<{ ids: string[]; deliver(): void }> {
		const device = this.requireDevice()
		const stanzas: BinaryNode[] = []
		for (const message of messages) stanzas.push(await this.contactPhones.messageStanza(this.contact(from), device, message, options))
		return { ids: stanzas.map(stanza => stanza.attrs.id ?? ''), deliver: () => stanzas.forEach(stanza => this.sessions.deliver(device, stanza)) }
	}

	/** Messages whose ciphertext is garbage: Baileys fails to decrypt them (and asks for retries). */
	sendUndecryptable(from: Sender, count: number, options: SendOptions = {}): string[] {
		const device = this.requireDevice()
		const contact = this.contact(from)
		return Array.from({ length: count }, () => {
			const stanza = this.contactPhones.undecryptableStanza(contact, { ...options, id: undefined })
			this.sessions.deliver(device, stanza)
			return stanza.attrs.id ?? ''
		})
	}

	// ---- what the device sent ---------------------------------------------------------------------

	/** Messages the device sent, as their recipients decrypted them, oldest first. */
	outbox(): OutgoingMessage[] {
		return [...this.sent]
	}

	waitForOutgoing(predicate: (message: OutgoingMessage) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<OutgoingMessage> {
		return this.feed.waitFor('an outgoing message', timeoutMs, () => this.sent.find(predicate))
	}

	/** Requests the device sent to its own phone (category "peer"), e.g. placeholder resends. */
	peerMessages(): proto.Message[] {
		return [...this.peerRequests]
	}

	/** Receipts the device sent (delivery, read, retry, ...), oldest first. */
	receipts(): ReceivedReceipt[] {
		return [...this.receiptsReceived]
	}

	waitForReceipt(id: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ReceivedReceipt> {
		return this.feed.waitFor(`a receipt for ${id}`, timeoutMs, () => this.receiptsReceived.find(receipt => receipt.id === id))
	}

	/**
	 * Ids of the messages sent to the device that it confirmed having received: a delivery receipt
	 * (`<receipt>` with no type, or `inactive`, `sender`, `peer_msg`), or an ack without an error. From
	 * then on WhatsApp holds the device responsible for them and never sends them again. (A retry
	 * receipt or a nack is an answer too, but says the device could not read the message.)
	 */
	confirmedMessages(): Set<string> {
		return new Set(this.confirmedByDevice)
	}

	/**
	 * Ids of the messages sent to the device that it refused with a nack (`<ack class="message"
	 * error>`: undecryptable, a duplicate of one it already read, ...): WhatsApp drops them too.
	 */
	refusedMessages(): Set<string> {
		return new Set(this.refusedByDevice)
	}

	/**
	 * A recipient's phone could not decrypt a message the device sent and asks for it again: a
	 * `<receipt type="retry">` (retry-receipts.ts). Resolves once Baileys has handled it (acked the
	 * receipt); any copy it re-sent is then in outbox() with `copy` > 1.
	 * @param from the contact asking: the chat's contact, or a member of the group it was sent to
	 */
	async requestRetry(from: Sender, messageId: string, options: RetryOptions = {}, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
		const original = this.sent.find(message => message.id === messageId)
		if (!original) throw new Error(`no contact received a message ${messageId} from the device`)
		const contact = this.contact(from)
		const chat = this.directory.resolve(original.to)
		if (!original.isGroup && (chat?.kind !== 'contact' || chat.contact !== contact)) {
			throw new Error(`message ${messageId} went to ${original.to}, not to ${contact.lidJid}`)
		}
		const handled = () => this.acksReceived.filter(ack => ack.class === 'receipt' && ack.type === 'retry' && ack.id === messageId).length
		const before = handled()
		this.requireLive().connection.send(retryReceiptNode(contact, original, options))
		await this.feed.waitFor(`the device to handle a retry receipt for ${messageId}`, timeoutMs, () =>
			handled() > before ? true : undefined
		)
	}

	/** The group queries the device made; with `jid`, metadata queries count for that group only. */
	groupQueries(jid?: string): GroupQueryCounts {
		const count = (kind: GroupQueryKind) =>
			this.groupQueryLog.filter(query => query.kind === kind && (kind !== 'metadata' || !jid || query.jid === jid)).length
		return { metadata: count('metadata'), participating: count('participating') }
	}

	/** Media the device uploaded, as stored (encrypted). */
	uploads(): StoredMedia[] {
		return this.media.uploads()
	}

	/** Download and decrypt the media a message points to, with Baileys' own downloader. */
	async downloadMedia(
		media: { url?: string | null; directPath?: string | null; mediaKey?: Uint8Array | null },
		type: MediaType
	): Promise<Buffer> {
		const stream = await downloadContentFromMessage(media, type, { options: this.media.trust.options })
		const chunks: Buffer[] = []
		for await (const chunk of stream) chunks.push(chunk as Buffer)
		return Buffer.concat(chunks)
	}

	/** Anything the stand-in could not handle; a test can assert this stays empty. */
	errors(): unknown[] {
		return [...this.failures]
	}

	/**
	 * Close every connection and server the stand-in started. Closing again is a no-op (a fleet closes
	 * its members, which a test may already have closed itself).
	 */
	close(): Promise<void> {
		this.closing ??= this.shutdown()
		return this.closing
	}

	private async shutdown(): Promise<void> {
		for (const timer of this.timers) clearTimeout(timer)
		for (const connection of this.connections) connection.terminate()
		await new Promise<void>(resolve => this.endpoint.wss.close(() => resolve()))
		await this.media.close()
		this.feed.close()
	}

	// ---- what the device asks and sends -----------------------------------------------------------

	private onHandshake(connection: ClientConnection) {
		const payload = connection.clientPayload
		if (!payload || !connection.kind) return
		const version = clientVersionOf(connection.kind, payload)
		this.versions.push(version)
		const props = devicePropsOf(payload)
		if (props) this.registrations.push(props)
		this.feed.notify()
		// WhatsApp checks the version before anything else: no QR, no login
		if (this.versionRejected(version)) return connection.endWith(outdatedVersionFailure())
		return this.sessions.onHandshake(connection)
	}

	private async onNode(connection: ClientConnection, stanza: BinaryNode) {
		switch (stanza.tag) {
			case 'iq':
				if (stanza.attrs.type === 'get' || stanza.attrs.type === 'set') this.answerIq(connection, stanza)
				else this.sessions.onIqResponse(connection, stanza)
				return
			case 'message':
				connection.send(node('ack', { class: 'message', id: stanza.attrs.id, from: stanza.attrs.to, t: String(unixNow()) }))
				await this.onOutgoingMessage(connection, stanza)
				return
			case 'receipt':
				this.receiptsReceived.push({
					id: stanza.attrs.id ?? '',
					type: stanza.attrs.type,
					to: stanza.attrs.to,
					participant: stanza.attrs.participant,
					stanza
				})
				connection.send(node('ack', { class: 'receipt', id: stanza.attrs.id, from: stanza.attrs.to, type: stanza.attrs.type }))
				this.onReceipt(connection, stanza)
				this.feed.notify()
				return
			case 'ack':
				if (stanza.attrs.class === 'message') {
					// a nack (with `error`) ends the delivery too: WhatsApp does not send the message again
					this.sessions.acknowledged(connection, stanza.attrs.id)
					if (stanza.attrs.id) (stanza.attrs.error ? this.refusedByDevice : this.confirmedByDevice).add(stanza.attrs.id)
				}
				this.acksReceived.push(stanza.attrs)
				this.feed.notify()
				return
			default:
				return // presence, chat states, telemetry: nothing to answer
		}
	}

	/**
	 * A receipt from the device for messages it was sent. Like WhatsApp, the server takes any receipt
	 * (Baileys sends one, never an ack, for a message it decrypted) as the end of the delivery: the
	 * messages it names (`id`, and `<list><item id>` for more) are not sent again. A retry receipt
	 * makes the sender's phone send the message again, freshly encrypted, under the same id.
	 */
	private onReceipt(connection: ClientConnection, receipt: BinaryNode) {
		const ids = [receipt.attrs.id, ...childrenNamed(getBinaryNodeChild(receipt, 'list'), 'item').map(item => item.attrs.id)]
		for (const id of ids) {
			if (!id) continue
			this.sessions.acknowledged(connection, id)
			if (receipt.attrs.type === 'retry') this.sendAgain(id)
			else if (DELIVERY_RECEIPTS.has(receipt.attrs.type)) this.confirmedByDevice.add(id)
		}
	}

	/** The contact's phone sends a message the device could not read again (a real phone does, a few times). */
	private sendAgain(id: string) {
		const original = this.sentToDevice.get(id)
		const device = this.sessions.latest()
		if (!original || !device) return
		this.contactPhones
			.messageStanza(original.from, device, original.message, original.options)
			.then(stanza => this.sessions.deliver(device, stanza))
			.catch(error => this.fail(`re-sending ${id}`, error))
	}

	private answerIq(connection: ClientConnection, request: BinaryNode) {
		const device = this.sessions.deviceOf(connection)
		if (this.ignoredQueries.has(request.attrs.xmlns ?? '')) return
		switch (request.attrs.xmlns) {
			case 'encrypt':
				connection.send(answerEncryptQuery(request, this.directory, device))
				return
			case 'usync':
				connection.send(answerUsync(request, this.directory))
				return
			case 'w:g2':
				this.groupQueryLog.push({ kind: groupQueryKind(request), jid: request.attrs.to })
				connection.send(this.groups.answer(request))
				return
			case 'w:profile:picture':
			case 'w:biz':
				connection.send(this.profiles.answer(request))
				return
			case 'w:m': // where to upload media, and the token to do it with
				connection.send(
					iqResult(request, [
						node('media_conn', { auth: this.media.auth, ttl: '300', auth_ttl: '21600', max_buckets: '12' }, [
							node('host', { hostname: this.media.host, maxContentLengthBytes: '104857600' })
						])
					])
				)
				return
			case 'w:sync:app:state':
				connection.send(this.appState.answer(request))
				for (const collection of children(getBinaryNodeChild(request, 'sync'))) {
					this.servedAppState.push(this.appState.version(collection.attrs.name as WAPatchName))
				}
				this.feed.notify()
				return
			case 'md':
				// the device logs itself out (Baileys' logout()): it is no longer linked
				if (firstChild(request)?.tag === 'remove-companion-device' && device) this.sessions.forget(device)
				connection.send(iqResult(request))
				return
			case 'passive':
				connection.send(iqResult(request))
				this.sessions.markEstablished(connection)
				return
			default:
				connection.send(iqResult(request)) // props, blocklist, privacy, ping, stats, ...: an empty result will do
		}
	}

	private async onOutgoingMessage(connection: ClientConnection, stanza: BinaryNode) {
		const device = this.sessions.deviceOf(connection)
		if (!device) return
		const sender = this.directory.deviceAddress(device)
		if (stanza.attrs.category === 'peer') {
			// a request to the account's own phone (history on demand, placeholder resend, ...)
			const enc = getBinaryNodeChild(stanza, 'enc')
			const ciphertext = bytesOf(enc)
			if (ciphertext) {
				this.peerRequests.push(await this.directory.phonePeer.decrypt(sender, enc?.attrs.type as 'pkmsg' | 'msg', ciphertext))
			}
			this.feed.notify()
			return
		}
		const opened = await openOutgoing(stanza, this.directory, sender)
		if (!opened) return
		const outgoing = { ...opened, copy: this.sent.filter(earlier => earlier.id === opened.id).length + 1 }
		this.sent.push(outgoing)
		if (this.options.deliveryReceipts !== false) this.confirmDelivery(connection, outgoing)
		this.feed.notify()
	}

	/** The recipients' phones confirm delivery (Baileys: messages.update / message-receipt.update). */
	private confirmDelivery(connection: ClientConnection, outgoing: OutgoingMessage) {
		const receipts = outgoing.isGroup
			? (this.directory.group(outgoing.to)?.members ?? []).flatMap(member =>
					member.contact === 'self' ? [] : [{ from: outgoing.to, participant: member.contact.lidJid }]
				)
			: [{ from: outgoing.to, participant: undefined }]
		const timer = setTimeout(() => {
			this.timers.delete(timer)
			for (const receipt of receipts) connection.send(node('receipt', { id: outgoing.id, ...receipt, t: String(unixNow()) }))
		}, this.options.deliveryDelayMs ?? 150)
		this.timers.add(timer)
	}

	// ---- helpers ----------------------------------------------------------------------------------

	private requireDevice(): LinkedDevice {
		const device = this.sessions.latest()
		if (!device) throw new Error('no device is linked yet: pair one with scanQr() first')
		return device
	}

	private requireLive() {
		const live = this.sessions.live()
		if (!live) throw new Error('no device is connected')
		return live
	}

	private fail(where: string, error: unknown) {
		this.failures.push(error)
		this.log?.(`[standin] error in ${where}: ${error instanceof Error ? error.stack : String(error)}`)
	}

	private logStanza(direction: 'in' | 'out', connection: ClientConnection, stanza: BinaryNode) {
		if (!this.log) return
		const text = binaryNodeToString(stanza)
		this.log(`[standin #${connection.id}] ${direction === 'in' ? '<-' : '->'} ${text.length > 600 ? `${text.slice(0, 600)}...` : text}`)
	}
}

async function listenOnLoopback(): Promise<StandInEndpoint> {
	const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws/chat' })
	await new Promise<void>(resolve => wss.once('listening', () => resolve()))
	return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws/chat` }
}

/** Start a stand-in on a free loopback port (plus its HTTPS media host). */
export const startStandIn = (options?: StandInOptions) => StandIn.start(options)
