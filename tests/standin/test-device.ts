// A bare Baileys socket for the stand-in's own tests: in-memory creds and keys, every event recorded,
// and a "process restart" that rebuilds the auth state from its BufferJSON-serialized form.
import { EventEmitter } from 'node:events'
import makeWASocket, {
	BufferJSON,
	initAuthCreds,
	makeCacheableSignalKeyStore,
	type AuthenticationCreds,
	type BaileysEventMap,
	type UserFacingSocketConfig
} from '@whiskeysockets/baileys'
import pino from 'pino'
import { MemoryKeyStore } from './memory-keys.js'
import type { StandIn } from './server.js'

export { releaseBaileysTimers } from './baileys-timers.js'

export type WASocket = ReturnType<typeof makeWASocket>

const RECORDED = [
	'connection.update',
	'creds.update',
	'messages.upsert',
	'messages.update',
	'message-receipt.update',
	'contacts.upsert',
	'contacts.update',
	'messaging-history.set',
	'lid-mapping.update',
	'groups.update'
] as const satisfies (keyof BaileysEventMap)[]

type Recorded = (typeof RECORDED)[number]

/** The status code Baileys closed with (`lastDisconnect.error.output.statusCode`). */
export function closeCode(update: BaileysEventMap['connection.update']): number | undefined {
	// a Boom error: the code sits in output.statusCode
	const error = update.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined
	return error?.output?.statusCode
}

export class TestDevice {
	socket: WASocket | undefined
	private records = new Map<Recorded, unknown[]>()
	private readonly changes = new EventEmitter()

	constructor(
		readonly creds: AuthenticationCreds = initAuthCreds(),
		readonly keys: MemoryKeyStore = new MemoryKeyStore()
	) {}

	/** The same device after a process restart: creds and keys reloaded from their serialized form. */
	restarted(): TestDevice {
		const creds = JSON.parse(JSON.stringify(this.creds, BufferJSON.replacer), BufferJSON.reviver) as AuthenticationCreds
		return new TestDevice(creds, MemoryKeyStore.deserialize(this.keys.serialize()))
	}

	/** Open a new socket to the stand-in; events are recorded afresh for each socket. */
	connect(standin: StandIn, config: Partial<UserFacingSocketConfig> = {}): WASocket {
		this.records = new Map()
		const socket = makeWASocket({
			auth: { creds: this.creds, keys: makeCacheableSignalKeyStore(this.keys) },
			logger: pino({ level: process.env.BAILEYS_LOG ?? 'silent' }),
			markOnlineOnConnect: false,
			shouldSyncHistoryMessage: () => false,
			connectTimeoutMs: 5_000,
			...standin.socketOptions,
			...config
		})
		for (const event of RECORDED) {
			socket.ev.on(event, (data: unknown) => {
				const list = this.records.get(event) ?? []
				list.push(data)
				this.records.set(event, list)
				this.changes.emit('change')
			})
		}
		this.socket = socket
		return socket
	}

	/** Every `event` recorded on the current socket so far. */
	events<K extends Recorded>(event: K): BaileysEventMap[K][] {
		return (this.records.get(event) ?? []) as BaileysEventMap[K][]
	}

	/** The first recorded `event` matching `predicate`, waiting for it if need be. */
	waitFor<K extends Recorded>(
		event: K,
		predicate: (data: BaileysEventMap[K]) => boolean = () => true,
		timeoutMs = 10_000
	): Promise<BaileysEventMap[K]> {
		const find = () => this.events(event).find(predicate)
		const found = find()
		if (found) return Promise.resolve(found)
		return new Promise((resolve, reject) => {
			const onChange = () => {
				const match = find()
				if (!match) return
				cleanup()
				resolve(match)
			}
			const timer = setTimeout(() => {
				cleanup()
				reject(new Error(`timed out after ${timeoutMs} ms waiting for ${event}`))
			}, timeoutMs)
			const cleanup = () => {
				clearTimeout(timer)
				this.changes.off('change', onChange)
			}
			this.changes.on('change', onChange)
		})
	}

	waitForQr(timeoutMs?: number): Promise<string> {
		return this.waitFor('connection.update', update => !!update.qr, timeoutMs).then(update => update.qr ?? '')
	}

	waitForOpen(timeoutMs?: number): Promise<unknown> {
		return this.waitFor('connection.update', update => update.connection === 'open', timeoutMs)
	}

	/** Resolves with the status code of the socket's close. */
	waitForClose(timeoutMs?: number): Promise<number | undefined> {
		return this.waitFor('connection.update', update => update.connection === 'close', timeoutMs).then(closeCode)
	}

	/** Close the socket from our side (like a service shutting down) and wait for it to be closed. */
	async end(): Promise<void> {
		const socket = this.socket
		if (!socket) return
		const closed = this.events('connection.update').some(update => update.connection === 'close')
		if (!closed) {
			const waiting = this.waitForClose()
			await socket.end(undefined)
			await waiting
		}
		this.socket = undefined
	}
}

/** Pair a fresh device with the stand-in (QR, scan, 515 restart) and leave it logged in. */
export async function pairNewDevice(
	standin: StandIn,
	config: Partial<UserFacingSocketConfig> = {},
	scan: Parameters<StandIn['scanQr']>[1] = {}
): Promise<TestDevice> {
	const device = new TestDevice()
	device.connect(standin, config)
	await standin.scanQr(await device.waitForQr(), scan)
	const code = await device.waitForClose()
	if (code !== 515) throw new Error(`expected a 515 restart after pairing, got ${code}`)
	device.connect(standin, config)
	await device.waitForOpen()
	await standin.waitForLogin()
	return device
}
