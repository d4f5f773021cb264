// The stand-in fleet: several accounts behind one loopback URL, each paired by its own Baileys socket.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect } from 'node:net'
import { afterEach, test } from 'node:test'
import type { WAMessage } from '@whiskeysockets/baileys'
import { startStandInFleet } from './index.js'
import { pairNewDevice, releaseBaileysTimers, type TestDevice } from './test-device.js'

afterEach(releaseBaileysTimers)

/** Send a raw WebSocket upgrade request and read until the server closes the connection. */
async function rawUpgrade(port: number, path: string): Promise<string> {
	const socket = connect(port, '127.0.0.1')
	await once(socket, 'connect')
	socket.write(
		`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
			'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'
	)
	let answer = ''
	socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')))
	// the server, not us, must end it: a timeout here means the socket was left open
	const timer = setTimeout(() => socket.destroy(new Error(`the server left the socket for ${path} open`)), 2_000)
	try {
		await once(socket, 'close')
	} finally {
		clearTimeout(timer)
	}
	if (socket.errored) throw socket.errored
	return answer
}

/** Whether something accepts TCP connections on the port. */
async function listening(port: number): Promise<boolean> {
	const socket = connect(port, '127.0.0.1')
	try {
		await once(socket, 'connect')
		return true
	} catch {
		return false
	} finally {
		socket.destroy()
	}
}

const upsertedIds = (device: TestDevice) =>
	device
		.events('messages.upsert')
		.flatMap(({ messages }) => messages)
		.map(message => message.key.id)

/**
 * The chat messages the device's socket upserted: what it received, and its own sends (Baileys echoes
 * them). The account's phone's welcome sync (protocol messages, no text) is left out.
 */
const chatMessages = (device: TestDevice) =>
	device
		.events('messages.upsert')
		.flatMap(({ messages }) => messages)
		.map((message: WAMessage) => ({
			id: message.key.id,
			fromMe: message.key.fromMe,
			text: message.message?.conversation ?? message.message?.extendedTextMessage?.text
		}))
		.filter(message => message.text !== undefined)

test('three accounts share one URL template: each pairs, receives and sends on its own; unknown names get a 404', async () => {
	const fleet = await startStandInFleet({ deliveryDelayMs: 20 })
	const port = Number(new URL(fleet.urlTemplate.replace('{session}', 'x')).port)
	const devices: TestDevice[] = []
	try {
		assert.match(fleet.urlTemplate, /^ws:\/\/127\.0\.0\.1:\d+\/\{session\}\/ws\/chat$/)
		assert.equal(fleet.urlFor('sales'), fleet.urlTemplate.replace('{session}', 'sales'))

		const accounts = {
			sales: { standin: await fleet.add('sales'), contact: { phone: '15550002222', lid: '88880002222', pushName: 'Alice' } },
			support: { standin: await fleet.add('support'), contact: { phone: '15550003333', lid: '88880003333', pushName: 'Bob' } },
			billing: {
				standin: await fleet.add('billing', { phone: '15557770000', lid: '77770000000' }),
				contact: { phone: '15550004444', lid: '88880004444', pushName: 'Carol' }
			}
		}
		const names = ['sales', 'support', 'billing'] as const
		assert.deepEqual(fleet.names(), names)
		await assert.rejects(fleet.add('sales'), /already a member/)
		assert.equal(fleet.get('nobody'), undefined)
		assert.throws(() => fleet.socketOptionsFor('nobody'), /no member named nobody/)

		assert.deepEqual(
			names.map(name => [accounts[name].standin.phone, accounts[name].standin.lid]),
			[
				['15551000001', '99991000001'],
				['15551000002', '99991000002'],
				['15557770000', '77770000000']
			],
			'default phones and LIDs count up; given ones are kept'
		)
		for (const name of names) {
			const { standin } = accounts[name]
			assert.equal(fleet.get(name), standin)
			assert.equal(standin.url, fleet.urlFor(name))
			assert.equal(fleet.socketOptionsFor(name).waWebSocketUrl, fleet.urlFor(name))
			assert.equal(fleet.socketOptionsFor(name).fetchAgent, standin.socketOptions.fetchAgent, "the member's own media host")
		}

		// paired side by side: each QR scan must reach the stand-in whose account the QR belongs to
		const paired = await Promise.all(names.map(name => pairNewDevice(accounts[name].standin)))
		devices.push(...paired)
		const device = (name: (typeof names)[number]) => paired[names.indexOf(name)]!
		for (const name of names) {
			const { standin } = accounts[name]
			assert.equal(device(name).creds.me?.id, `${standin.phone}:1@s.whatsapp.net`)
			assert.equal(device(name).socket?.user?.lid, `${standin.lid}:1@lid`)
			assert.equal(standin.clientVersions().length, 2, "only this account's device connected here: registration, then login")
		}

		// every account hears from its own contact at once
		const incoming = await Promise.all(
			names.map(async name => {
				const { standin, contact } = accounts[name]
				const id = await standin.sendText(standin.contact(contact), `to ${name} from ${contact.pushName}`)
				const upsert = await device(name).waitFor('messages.upsert', ({ messages }) => messages.some(message => message.key.id === id))
				const message = upsert.messages.find(message => message.key.id === id)!
				assert.equal(message.key.remoteJid, `${contact.lid}@lid`)
				assert.equal(message.key.remoteJidAlt, `${contact.phone}@s.whatsapp.net`)
				assert.equal(message.pushName, contact.pushName)
				await standin.waitForReceipt(id)
				return id
			})
		)

		// and every device replies to its own contact at once
		const outgoing = await Promise.all(
			names.map(async name => {
				const { standin, contact } = accounts[name]
				const sent = await device(name).socket!.sendMessage(`${contact.phone}@s.whatsapp.net`, { text: `from ${name} to ${contact.pushName}` })
				const out = await standin.waitForOutgoing(message => message.id === sent?.key.id)
				assert.equal(out.to, `${contact.phone}@s.whatsapp.net`)
				assert.equal(out.text, `from ${name} to ${contact.pushName}`, "decrypted by this account's contact")
				// Baileys echoes its own send as an upsert a tick later; wait, so the check below sees it
				await device(name).waitFor('messages.upsert', ({ messages }) => messages.some(message => message.key.id === out.id))
				return out.id
			})
		)

		for (const [index, name] of names.entries()) {
			const { standin, contact } = accounts[name]
			assert.deepEqual(
				chatMessages(device(name)),
				[
					{ id: incoming[index], fromMe: false, text: `to ${name} from ${contact.pushName}` },
					{ id: outgoing[index], fromMe: true, text: `from ${name} to ${contact.pushName}` }
				],
				"the device saw its own contact's message and its own reply, nothing of the other accounts"
			)
			assert.deepEqual(
				standin.outbox().map(message => message.id),
				[outgoing[index]],
				"the stand-in saw its own device's message, nobody else's"
			)
			const receiptIds = new Set(standin.receipts().map(receipt => receipt.id))
			for (const [other, id] of incoming.entries()) {
				assert.equal(receiptIds.has(id), other === index, `receipts for ${names[other]}'s incoming message reach ${name} only if it is ${name}'s`)
			}
			assert.equal(standin.clientVersions().length, 2, 'still no stray connection')
			assert.deepEqual(standin.errors(), [], 'the stand-in hit no errors')
		}

		const everyUpsert = paired.flatMap(upsertedIds)
		assert.equal(new Set(everyUpsert).size, everyUpsert.length, 'no message reached two devices')

		// a name that is not a member, and a member's name on a path that is not the chat endpoint
		assert.match(await rawUpgrade(port, '/nobody/ws/chat'), /^HTTP\/1\.1 404 /)
		assert.match(await rawUpgrade(port, '/sales/ws/other'), /^HTTP\/1\.1 404 /)
		assert.match(await rawUpgrade(port, '/ws/chat'), /^HTTP\/1\.1 404 /)
	} finally {
		for (const device of devices) await device.end()
		await fleet.close()
	}

	assert.equal(await listening(port), false, 'nothing listens on the fleet port after close()')
	await assert.rejects(fleet.add('late'), /closed/)
})

test('a member closed on its own is not closed twice by the fleet; a name is taken by the first of two concurrent adds', async () => {
	const fleet = await startStandInFleet()
	const port = Number(new URL(fleet.urlFor('x')).port)
	const [first, second] = await Promise.allSettled([fleet.add('solo'), fleet.add('solo')])
	assert.equal(first.status, 'fulfilled')
	assert.equal(second.status, 'rejected')
	assert.match(String((second as PromiseRejectedResult).reason), /already a member/)
	assert.deepEqual(fleet.names(), ['solo'])
	await fleet.get('solo')!.close()
	await fleet.close()
	assert.equal(await listening(port), false)
})
