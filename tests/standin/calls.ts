// Voice and video calls as WhatsApp signals them to a linked device: a contact's phone offers a
// call (`<call><offer call-id>`), and the device may reject it (`<call><reject call-id>`), which
// this file watches for on the stand-in's connection.
import type { BinaryNode } from '@whiskeysockets/baileys'
import { randomBytes } from 'node:crypto'
import type { StandIn } from './server.js'
import type { StandInContact } from './directory.js'
import { node, unixNow } from './nodes.js'

/** A contact calls the device. Returns the call id. */
export function offerCall(standin: StandIn, from: StandInContact, options: { video?: boolean } = {}): string {
	const callId = randomBytes(16).toString('hex').toUpperCase()
	const offer = node('offer', { 'call-id': callId, 'call-creator': from.lidJid, caller_pn: from.pnJid }, [
		node('audio', { enc: 'opus', rate: '16000' }),
		...(options.video ? [node('video', { enc: 'vp8' })] : [])
	])
	standin['requireLive']().connection.send(node('call', { from: from.lidJid, id: randomBytes(8).toString('hex').toUpperCase(), t: String(unixNow()) }, [offer]))
	return callId
}

/**
 * From now on, the `<call>` stanzas the device sends (rejects among them) are collected; returns a
 * function listing them. Only the stand-in's stanza log sees them, so it is tapped here.
 */
export function watchDeviceCalls(standin: StandIn): () => BinaryNode[] {
	const seen: BinaryNode[] = []
	const target = standin as unknown as { logStanza(direction: 'in' | 'out', connection: unknown, stanza: BinaryNode): void }
	const original = target.logStanza.bind(standin)
	target.logStanza = (direction, connection, stanza) => {
		if (direction === 'in' && stanza.tag === 'call') seen.push(stanza)
		original(direction, connection, stanza)
	}
	return () => [...seen]
}
