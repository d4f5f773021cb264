// The server's side of a companion's connections: a registering client is shown QR refs and, once the
// phone scans one, paired (pair-success -> pair-device-sign -> 515 restart); a paired client logs in
// (`success`, then its offline backlog and the `offline` marker). One live session per device: a new
// login replaces the old one, as on WhatsApp.
import { randomBytes } from 'node:crypto'
import type { BinaryNode, KeyPair } from '@whiskeysockets/baileys'
import type { ChangeFeed } from './change-feed.js'
import type { ClientConnection } from './client-connection.js'
import type { Directory } from './directory.js'
import { SERVER, node, unixNow } from './nodes.js'
import {
	pairSuccessNode,
	parseQr,
	registrationKeysFrom,
	verifyPairDeviceSign,
	type LinkedDevice,
	type QrContents,
	type RegistrationKeys
} from './pairing.js'

export type ScanOptions = {
	/** the account's display name; also sent as the verified business name for business platforms */
	pushName?: string
	/** the phone's platform as pair-success reports it: 'android', 'iphone', 'smba' (Business Android), 'smbi' */
	platform?: string
	/** the phone's approval carries an account signature that does not verify: the companion must refuse it */
	forgeAccountSignature?: boolean
}

export type PairedDevice = { deviceId: number; jid: string; lid: string }

type Registration = {
	keys: RegistrationKeys
	refs: string[]
	pairing?: {
		iqId: string
		qr: QrContents
		deviceId: number
		options: ScanOptions
		resolve(device: PairedDevice): void
		reject(error: Error): void
	}
}

type Login = { device: LinkedDevice; established: boolean }

const BUSINESS_PLATFORMS = new Set(['smba', 'smbi'])

export type DeviceSessionHooks = {
	/** a device finished its post-login handshake (first time per connection) */
	onEstablished(device: LinkedDevice): void
	/** a device was just paired; `options` are what the phone was scanned with */
	onPaired(device: LinkedDevice, options: ScanOptions): void
}

export class DeviceSessions {
	private readonly registrations = new Map<ClientConnection, Registration>()
	private readonly logins = new Map<ClientConnection, Login>()
	/** stanzas for a device that was offline, delivered (marked `offline`) at its next login */
	private readonly backlog = new Map<number, BinaryNode[]>()
	/**
	 * Messages sent on a connection that the device has not acknowledged yet. Like WhatsApp, the
	 * server keeps them: a connection that closes first gets them back in the backlog of its device.
	 */
	private readonly unacked = new Map<ClientConnection, { device: LinkedDevice; stanzas: BinaryNode[] }>()
	private nextDeviceId = 1
	private nextStanzaId = 1

	constructor(
		private readonly directory: Directory,
		/** the account's ADV key: the phone signs each companion's identity with it when linking */
		private readonly accountKey: KeyPair,
		private readonly qrRefs: number,
		private readonly feed: ChangeFeed,
		private readonly hooks: DeviceSessionHooks
	) {}

	stanzaId() {
		return `standin-${this.nextStanzaId++}`
	}

	// ---- registration and pairing -----------------------------------------------------------------

	/** The refs shown by a connected, registering client, if any. */
	shownRefs(): string[] | undefined {
		for (const [connection, registration] of this.registrations) {
			if (connection.isOpen && registration.refs.length) return registration.refs
		}
		return undefined
	}

	/** `<iq><pair-device><ref/>...`: Baileys shows one QR per ref, rotating through them. */
	showQr(connection: ClientConnection): string[] {
		const registration = this.registrations.get(connection)
		if (!registration) return []
		const refs = Array.from({ length: this.qrRefs }, () => `2@${randomBytes(24).toString('base64')}`)
		registration.refs.push(...refs)
		connection.send(
			node('iq', { from: SERVER, type: 'set', id: this.stanzaId(), xmlns: 'md' }, [
				node('pair-device', {}, refs.map(ref => node('ref', {}, Buffer.from(ref))))
			])
		)
		this.feed.notify()
		return refs
	}

	rotateQr(): string[] {
		const open = [...this.registrations.keys()].filter(connection => connection.isOpen)
		if (!open.length) throw new Error('no client is showing a QR')
		return open.flatMap(connection => this.showQr(connection))
	}

	scanQr(qr: string, options: ScanOptions): Promise<PairedDevice> {
		const contents = parseQr(qr)
		const connection = [...this.registrations.keys()].find(
			candidate => candidate.isOpen && candidate.clientStaticKey?.toString('base64') === contents.noiseKey
		)
		const registration = connection && this.registrations.get(connection)
		if (!connection || !registration) throw new Error('no connected client is showing this QR')
		if (!registration.refs.includes(contents.ref)) throw new Error(`QR ref ${contents.ref} was not issued to this client`)
		if (registration.keys.identityKey.toString('base64') !== contents.identityKey) {
			throw new Error('the QR identity key differs from the one the client registered')
		}
		const deviceId = this.nextDeviceId++
		const iqId = this.stanzaId()
		const platform = options.platform ?? 'android'
		return new Promise<PairedDevice>((resolve, reject) => {
			registration.pairing = { iqId, qr: contents, deviceId, options, resolve, reject }
			connection.send(
				pairSuccessNode({
					id: iqId,
					qr: contents,
					accountKey: this.accountKey,
					deviceId,
					phone: this.directory.phone,
					lid: this.directory.lid,
					platform,
					businessName: BUSINESS_PLATFORMS.has(platform) ? options.pushName : undefined,
					forgeAccountSignature: options.forgeAccountSignature
				})
			)
		})
	}

	/** The companion's answer to pair-success: if its signature holds, it is now a linked device. */
	onIqResponse(connection: ClientConnection, response: BinaryNode) {
		const registration = this.registrations.get(connection)
		const pairing = registration?.pairing
		if (!registration || !pairing || response.attrs.id !== pairing.iqId) return
		registration.pairing = undefined
		if (response.attrs.type !== 'result' || !verifyPairDeviceSign(response, registration.keys.identityKey, this.accountKey)) {
			pairing.reject(new Error('the companion did not sign its device identity'))
			return
		}
		const device: LinkedDevice = {
			deviceId: pairing.deviceId,
			noiseKey: pairing.qr.noiseKey,
			keys: registration.keys,
			preKeys: new Map(),
			platform: pairing.options.platform ?? 'android',
			bootstrapped: false
		}
		this.directory.linkedDevices.set(device.noiseKey, device)
		this.hooks.onPaired(device, pairing.options)
		// WhatsApp ends the registration stream; the companion reconnects and logs in
		connection.endWith(node('stream:error', { code: '515' }))
		pairing.resolve(this.describe(device))
		this.feed.notify()
	}

	// ---- login and live sessions ------------------------------------------------------------------

	onHandshake(connection: ClientConnection) {
		const payload = connection.clientPayload
		if (!payload) return
		if (connection.kind === 'registration') {
			this.registrations.set(connection, { keys: registrationKeysFrom(payload), refs: [] })
			this.showQr(connection)
			return
		}
		const device = this.directory.linkedDevices.get(connection.clientStaticKey?.toString('base64') ?? '')
		if (!device || String(payload.username) !== this.directory.phone || Number(payload.device) !== device.deviceId) {
			// unknown or removed device: WhatsApp refuses the login, Baileys reports 401 (logged out)
			connection.endWith(node('failure', { reason: '401', location: 'standin' }))
			return
		}
		for (const [other, login] of this.logins) {
			if (login.device === device && other !== connection) {
				this.end(other, node('stream:error', {}, [node('conflict', { type: 'replaced' })]))
			}
		}
		this.logins.set(connection, { device, established: false })
		connection.send(
			node('success', {
				t: String(unixNow()),
				lid: `${this.directory.lid}:${device.deviceId}@lid`,
				props: '1',
				abprops: '1',
				location: 'standin',
				creation: '1700000000'
			})
		)
		const backlog = this.backlog.get(device.deviceId) ?? []
		this.backlog.delete(device.deviceId)
		for (const stanza of backlog) this.sendMessage(connection, device, { ...stanza, attrs: { ...stanza.attrs, offline: '1' } })
		connection.send(node('ib', { from: SERVER }, [node('offline', { count: String(backlog.length) })]))
	}

	/** The client went passive after login (pre-keys checked, digest next): the session is up. */
	markEstablished(connection: ClientConnection) {
		const login = this.logins.get(connection)
		if (!login || login.established) return
		login.established = true
		this.hooks.onEstablished(login.device)
		this.feed.notify()
	}

	onClose(connection: ClientConnection) {
		const pending = this.unacked.get(connection)
		this.unacked.delete(connection)
		if (pending?.stanzas.length && this.directory.linkedDevices.has(pending.device.noiseKey)) {
			const { deviceId } = pending.device
			const requeued = pending.stanzas.map(({ attrs: { offline: _offline, ...attrs }, ...stanza }) => ({ ...stanza, attrs }))
			this.backlog.set(deviceId, [...requeued, ...(this.backlog.get(deviceId) ?? [])])
		}
		this.registrations.get(connection)?.pairing?.reject(new Error('the client disconnected before pairing finished'))
		this.registrations.delete(connection)
		this.logins.delete(connection)
		this.feed.notify()
	}

	/** The linked device a connection logged in as. */
	deviceOf(connection: ClientConnection): LinkedDevice | undefined {
		return this.logins.get(connection)?.device
	}

	/** The established, open session, if the device is connected. */
	live(): { connection: ClientConnection; device: LinkedDevice } | undefined {
		for (const [connection, login] of this.logins) {
			if (login.established && connection.isOpen) return { connection, device: login.device }
		}
		return undefined
	}

	/** End a logged-in connection with a final stanza; it stops counting as live at once. */
	end(connection: ClientConnection, stanza: BinaryNode) {
		this.logins.delete(connection)
		connection.endWith(stanza)
		this.feed.notify()
	}

	/** Unpair a device; its connections end with `finalStanza`. */
	forget(device: LinkedDevice, finalStanza?: BinaryNode) {
		this.directory.linkedDevices.delete(device.noiseKey)
		this.backlog.delete(device.deviceId)
		for (const [connection, login] of this.logins) {
			if (login.device === device && finalStanza) this.end(connection, finalStanza)
		}
		this.feed.notify()
	}

	/** Send to the device now if it is connected, else keep it for its next login. */
	deliver(device: LinkedDevice, stanza: BinaryNode) {
		for (const [connection, login] of this.logins) {
			if (login.device === device && connection.isOpen) {
				this.sendMessage(connection, device, stanza)
				return
			}
		}
		this.backlog.set(device.deviceId, [...(this.backlog.get(device.deviceId) ?? []), stanza])
	}

	/** The device acknowledged a stanza it was sent (`<ack class="message" id=...>`). */
	acknowledged(connection: ClientConnection, id: string | undefined) {
		const pending = this.unacked.get(connection)
		if (pending && id) pending.stanzas = pending.stanzas.filter(stanza => stanza.attrs.id !== id)
	}

	private sendMessage(connection: ClientConnection, device: LinkedDevice, stanza: BinaryNode) {
		if (stanza.tag === 'message') {
			const pending = this.unacked.get(connection) ?? { device, stanzas: [] }
			pending.stanzas.push(stanza)
			this.unacked.set(connection, pending)
		}
		connection.send(stanza)
	}

	/** The most recently paired device (the device under test). */
	latest(): LinkedDevice | undefined {
		return [...this.directory.linkedDevices.values()].sort((a, b) => b.deviceId - a.deviceId)[0]
	}

	describe(device: LinkedDevice): PairedDevice {
		return {
			deviceId: device.deviceId,
			jid: `${this.directory.phone}:${device.deviceId}@s.whatsapp.net`,
			lid: this.directory.deviceAddress(device)
		}
	}
}
