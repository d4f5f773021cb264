// The stand-in's media server (WhatsApp's mmg.whatsapp.net): a loopback HTTPS host that accepts
// encrypted uploads the way Baileys sends them and serves encrypted blobs back by their direct path.
//
// Baileys builds `https://${hostname}${path}` itself, so this must be HTTPS. The certificate is
// self-signed for 127.0.0.1; `trust` holds exactly what a Baileys socket needs to accept it:
//   - `fetchAgent`: an https.Agent for uploads (Baileys uploads with node:https in Node)
//   - `options.dispatcher`: an undici dispatcher for downloads (Baileys downloads with global fetch)
// Both trust this host's certificate only; nothing turns TLS verification off.
import { randomBytes } from 'node:crypto'
import { Agent as HttpsAgent, createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { generate } from 'selfsigned'
import type { Dispatcher } from 'undici-types'

export type StoredMedia = {
	directPath: string
	/** the encrypted bytes exactly as uploaded */
	body: Buffer
	/** 'image', 'document', 'md-msg-hist', ... from the upload path, or given by the stand-in itself */
	kind: string
	uploadedBy: 'client' | 'stand-in'
}

export type MediaTrust = {
	fetchAgent: HttpsAgent
	/** Baileys' `options` (a fetch RequestInit); undici's `dispatcher` is how fetch is told whom to trust */
	options: RequestInit & { dispatcher: Dispatcher }
}

/**
 * Node's built-in fetch is undici, but undici itself is not importable without the `undici` package.
 * Its Agent class is reachable through the global dispatcher Node installs on first use.
 */
async function undiciAgentClass(): Promise<new (options: object) => Dispatcher> {
	const globalDispatcher = Symbol.for('undici.globalDispatcher.1')
	const holder = globalThis as unknown as Record<symbol, Dispatcher | undefined>
	if (!holder[globalDispatcher]) await fetch('data:,') // makes Node create its global dispatcher
	const dispatcher = holder[globalDispatcher]
	if (!dispatcher) throw new Error('cannot find Node\'s undici Agent; add the "undici" package to build a dispatcher')
	return dispatcher.constructor as new (options: object) => Dispatcher
}

const readBody = (request: IncomingMessage) =>
	new Promise<Buffer>((resolve, reject) => {
		const chunks: Buffer[] = []
		request.on('data', (chunk: Buffer) => chunks.push(chunk))
		request.on('end', () => resolve(Buffer.concat(chunks)))
		request.on('error', reject)
	})

export class MediaHost {
	/** the `media_conn` auth token; uploads must present it, like WhatsApp's */
	readonly auth = randomBytes(24).toString('base64url')
	private readonly blobs = new Map<string, StoredMedia>()
	private nextId = 1

	private constructor(
		private readonly server: Server,
		readonly trust: MediaTrust
	) {
		server.on('request', (request, response) => {
			this.handle(request, response).catch(() => {
				response.statusCode = 500
				response.end()
			})
		})
	}

	static async start(): Promise<MediaHost> {
		const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
			keyType: 'ec',
			notAfterDate: new Date(Date.now() + 2 * 24 * 3600 * 1000),
			extensions: [
				{ name: 'basicConstraints', cA: false, critical: true },
				{ name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
				{ name: 'extKeyUsage', serverAuth: true },
				{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }
			]
		})
		const server = createServer({ key: pems.private, cert: pems.cert })
		await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
		const UndiciAgent = await undiciAgentClass()
		const trust: MediaTrust = {
			fetchAgent: new HttpsAgent({ ca: pems.cert }),
			options: Object.assign({} as RequestInit, { dispatcher: new UndiciAgent({ connect: { ca: pems.cert } }) })
		}
		return new MediaHost(server, trust)
	}

	/** `127.0.0.1:port`: what `media_conn` announces as the hostname */
	get host(): string {
		return `127.0.0.1:${(this.server.address() as AddressInfo).port}`
	}

	/** Publish an encrypted blob (media a simulated phone sends, a history sync payload). */
	publish(body: Buffer, kind: string): { url: string; directPath: string } {
		const stored = this.keep(body, kind, 'stand-in')
		return { url: this.urlFor(stored.directPath), directPath: stored.directPath }
	}

	blob(directPathOrUrl: string): StoredMedia | undefined {
		return this.blobs.get(new URL(directPathOrUrl, `https://${this.host}`).pathname)
	}

	uploads(): StoredMedia[] {
		return [...this.blobs.values()].filter(media => media.uploadedBy === 'client')
	}

	async close(): Promise<void> {
		this.trust.fetchAgent.destroy()
		await this.trust.options.dispatcher.close()
		this.server.closeAllConnections()
		await new Promise<void>(resolve => this.server.close(() => resolve()))
	}

	private keep(body: Buffer, kind: string, uploadedBy: StoredMedia['uploadedBy']): StoredMedia {
		// shaped like WhatsApp's paths; the query string is ignored when serving
		const path = `/v/t62.7118-24/${this.nextId++}_${randomBytes(6).toString('hex')}.enc`
		const stored: StoredMedia = { directPath: `${path}?ccb=11-4&oh=01_${randomBytes(8).toString('hex')}&_nc_sid=5e03e0`, body, kind, uploadedBy }
		this.blobs.set(path, stored)
		return stored
	}

	private urlFor(directPath: string) {
		return `https://${this.host}${directPath}&mms3=true`
	}

	private async handle(request: IncomingMessage, response: ServerResponse) {
		const url = new URL(request.url ?? '/', `https://${this.host}`)
		const upload = /^\/mms\/([\w-]+)\/[^/]+$/.exec(url.pathname)
		if (request.method === 'POST' && upload) {
			const body = await readBody(request)
			response.setHeader('content-type', 'application/json')
			if (url.searchParams.get('auth') !== this.auth) {
				response.statusCode = 401
				response.end(JSON.stringify({ error: 'bad auth' }))
				return
			}
			const stored = this.keep(body, upload[1] ?? 'unknown', 'client')
			response.end(JSON.stringify({ url: this.urlFor(stored.directPath), direct_path: stored.directPath }))
			return
		}
		const stored = request.method === 'GET' ? this.blobs.get(url.pathname) : undefined
		if (!stored) {
			response.statusCode = 404
			response.end()
			return
		}
		response.setHeader('content-type', 'application/octet-stream')
		response.end(stored.body)
	}
}
