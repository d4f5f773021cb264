// Many stand-in accounts behind one loopback URL, for a service that runs many WhatsApp sessions and
// is configured with a single `WA_WS_URL` template: `ws://127.0.0.1:<port>/{session}/ws/chat`.
//
// One HTTP server takes every WebSocket upgrade and hands it to the stand-in named by the first path
// segment (the ws "multiple servers sharing a single HTTP server" pattern: each stand-in gets a
// `noServer` WebSocketServer). Everything else about a member is an ordinary StandIn: its own state,
// its own media host. They all present certificates from the same fixed test root (noise.ts), so one
// process's Baileys (or one that preloaded trust-test-root.ts) trusts every member. TEST-ONLY.
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import { StandIn, type StandInOptions, type StandInSocketOptions } from './server.js'

/** Options every member starts with (an `add` can override them); phone and lid are per account. */
export type StandInFleetOptions = Omit<StandInOptions, 'phone' | 'lid'>

export type StandInFleet = {
	/** `ws://127.0.0.1:<port>/{session}/ws/chat`: what the service takes as `WA_WS_URL` */
	readonly urlTemplate: string
	/** The template with `name` in place of `{session}` (percent-encoded, as a path segment). */
	urlFor(name: string): string
	/**
	 * Start a stand-in account served at `/<name>/ws/chat`. Without `phone` / `lid` the Nth member
	 * added (counting from 1) gets phone `15551` + N in 6 digits and lid `99991` + N in 6 digits:
	 * 15551000001 / 99991000001, 15551000002 / 99991000002, ... (no clash with the lone stand-in's
	 * 15550001111 nor the 1555000xxxx contacts tests use).
	 */
	add(name: string, options?: StandInOptions): Promise<StandIn>
	get(name: string): StandIn | undefined
	/** the members' names, in the order they were added */
	names(): string[]
	/** That member's Baileys config (its fleet URL, and agents trusting its own media host). */
	socketOptionsFor(name: string): StandInSocketOptions
	/** Close every member and the server; nothing is left listening. */
	close(): Promise<void>
}

/** What a session name may not be: empty, or a dot segment a URL parser would fold away. */
function checkName(name: string) {
	if (name === '' || name === '.' || name === '..') throw new Error(`stand-in fleet: ${JSON.stringify(name)} cannot name a session`)
}

/** Refuse an upgrade the way ws refuses one it will not take: a plain HTTP answer, then the socket goes. */
function refuseUpgrade(socket: Duplex, status: number, reason: string) {
	socket.once('finish', () => socket.destroy())
	socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}

export async function startStandInFleet(defaults: StandInFleetOptions = {}): Promise<StandInFleet> {
	// a member is only routed to once its StandIn listens for 'connection'; until then, a connection would be lost
	const members = new Map<string, { wss: WebSocketServer; standin: StandIn }>()
	const reserved = new Set<string>()
	const starting = new Set<Promise<unknown>>()
	let added = 0
	let closed = false

	const server = createServer((_request, response) => {
		// what a stand-in's own ws server answers a plain HTTP request
		response.writeHead(426, { 'content-type': 'text/plain' }).end('Upgrade Required')
	})
	server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
		// a client that resets mid-handshake must not become an uncaught 'error'
		socket.on('error', () => socket.destroy())
		let name: string | undefined
		try {
			const match = /^\/([^/]+)\/ws\/chat$/.exec(new URL(request.url ?? '/', 'http://127.0.0.1').pathname)
			name = match?.[1] === undefined ? undefined : decodeURIComponent(match[1])
		} catch {
			name = undefined // an unparsable path or malformed percent-encoding names nobody
		}
		const member = name === undefined ? undefined : members.get(name)
		if (!member) return refuseUpgrade(socket, 404, 'Not Found')
		member.wss.handleUpgrade(request, socket, head, ws => member.wss.emit('connection', ws, request))
	})
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
	const urlTemplate = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/{session}/ws/chat`
	const urlFor = (name: string) => urlTemplate.replace('{session}', encodeURIComponent(name))

	async function startMember(name: string, options: StandInOptions): Promise<StandIn> {
		const n = ++added
		const wss = new WebSocketServer({ noServer: true })
		try {
			const standin = await StandIn.start(
				{
					...defaults,
					...options,
					phone: options.phone ?? `15551${String(n).padStart(6, '0')}`,
					lid: options.lid ?? `99991${String(n).padStart(6, '0')}`
				},
				{ wss, url: urlFor(name) }
			)
			members.set(name, { wss, standin })
			return standin
		} catch (error) {
			wss.close()
			reserved.delete(name)
			throw error
		}
	}

	return {
		urlTemplate,
		urlFor,
		async add(name, options = {}) {
			checkName(name)
			if (closed) throw new Error('stand-in fleet: closed')
			// reserved before the first await, so two concurrent adds of one name cannot both win
			if (reserved.has(name)) throw new Error(`stand-in fleet: ${name} is already a member`)
			reserved.add(name)
			const start = startMember(name, options)
			starting.add(start)
			try {
				return await start
			} finally {
				starting.delete(start)
			}
		},
		get: name => members.get(name)?.standin,
		names: () => [...members.keys()],
		socketOptionsFor(name) {
			const standin = members.get(name)?.standin
			if (!standin) throw new Error(`stand-in fleet: no member named ${name}`)
			return standin.socketOptions
		},
		async close() {
			closed = true
			// a member still starting would otherwise be left with its media host listening
			await Promise.allSettled(starting)
			await Promise.all([...members.values()].map(({ standin }) => standin.close()))
			// upgraded sockets were the members' to end; what is left is idle plain HTTP, if anything
			server.closeAllConnections()
			await new Promise<void>(resolve => server.close(() => resolve()))
		}
	}
}
