// The account's own primary phone (device 0). For a newly linked device it shares the app-state key,
// sends the first history chunk and announces app-state collections that have content; later it
// writes to the address book and sends more history. Its messages come "from me", Signal-encrypted.
import { randomBytes } from 'node:crypto'
import type { WAPatchName, proto } from '@whiskeysockets/baileys'
import type { AppStateServer, SavedContact } from './app-state.js'
import type { DeviceSessions } from './device-sessions.js'
import type { Directory } from './directory.js'
import { historySyncMessage, type HistoryContent } from './history-sync.js'
import { node, unixNow } from './nodes.js'
import { takeBundle, type LinkedDevice } from './pairing.js'

export class PrimaryPhone {
	private readonly bootstraps = new Map<number, Promise<void>>()

	constructor(
		private readonly directory: Directory,
		private readonly sessions: DeviceSessions,
		private readonly appState: AppStateServer,
		/** resolves when the device has sent a receipt for the message id */
		private readonly receiptFor: (id: string) => Promise<unknown>,
		private readonly fail: (where: string, error: unknown) => void
	) {}

	/** The account's display name, set when the phone links a device (reaches it by app-state sync). */
	setPushName(name: string) {
		this.appState.setPushName(name).catch(error => this.fail('push name', error))
	}

	/** Called at each established login; the first one of a device gets the phone's welcome sync. */
	welcome(device: LinkedDevice) {
		if (device.bootstrapped) return
		device.bootstrapped = true
		this.bootstraps.set(
			device.deviceId,
			this.bootstrap(device).catch(error => this.fail('phone bootstrap', error))
		)
	}

	/** Wait for the welcome sync to have been sent (app-state key shared), if it is under way. */
	async ready(device: LinkedDevice): Promise<void> {
		await this.bootstraps.get(device.deviceId)
	}

	/** Address-book entries: app-state patches, then a server_sync notification. Returns the version to expect. */
	async saveContacts(device: LinkedDevice, contacts: SavedContact[]): Promise<number> {
		await this.ready(device)
		const collection = await this.appState.saveContacts(contacts)
		this.announce(device, [collection])
		return this.appState.version(collection)
	}

	/** A history sync chunk; returns its message id. */
	async sendHistory(device: LinkedDevice, content: HistoryContent): Promise<string> {
		await this.ready(device)
		return this.send(device, historySyncMessage(content))
	}

	/** A Signal message from the phone to the device, starting a session from its bundle if needed. */
	async send(device: LinkedDevice, message: proto.IMessage): Promise<string> {
		const address = this.directory.deviceAddress(device)
		const phone = this.directory.phonePeer
		if (!(await phone.hasSessionWith(address))) await phone.startSession(address, takeBundle(device))
		const { type, ciphertext } = await phone.encrypt(address, message)
		const id = randomBytes(16).toString('hex').toUpperCase()
		// "from me": the account's own LID, without a recipient (Baileys: key.fromMe, chat = self)
		this.sessions.deliver(
			device,
			node('message', { id, from: this.directory.accountLidJid, type: 'text', t: String(unixNow()) }, [
				node('enc', { v: '2', type }, ciphertext)
			])
		)
		return id
	}

	private announce(device: LinkedDevice, collections: WAPatchName[]) {
		this.sessions.deliver(device, this.appState.serverSyncNotification(this.sessions.stanzaId(), collections))
	}

	private async bootstrap(device: LinkedDevice) {
		await this.send(device, this.appState.keyShareMessage())
		const historyId = await this.send(
			device,
			historySyncMessage({
				syncType: 'INITIAL_BOOTSTRAP',
				lidMappings: this.directory.contacts().map(contact => ({ pn: contact.pnJid, lid: contact.lidJid }))
			})
		)
		// the device handles messages in order: once the history is acknowledged, the key is stored too,
		// so the collections can be fetched without "missing key" retries
		await this.receiptFor(historyId).catch(() => undefined)
		const withContent = (['critical_block', 'critical_unblock_low'] as const).filter(name => this.appState.version(name) > 0)
		if (withContent.length) this.announce(device, [...withContent])
	}
}
