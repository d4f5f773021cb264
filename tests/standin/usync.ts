// USync, WhatsApp's user lookup: which numbers are on WhatsApp (`contact`), which devices a user has
// (`devices`, needed before every send), and a phone number's LID (`lid`).
// Request: <iq xmlns="usync"><usync><query><devices/><lid/>...</query><list><user jid=.../>...</list></usync>
import { getBinaryNodeChild, jidDecode, type BinaryNode } from '@whiskeysockets/baileys'
import type { Directory, KnownUser } from './directory.js'
import { children, firstChild, iqResult, node, textOf } from './nodes.js'

function devicesNode(directory: Directory, known: KnownUser | undefined): BinaryNode {
	const ids = known ? directory.deviceIds(known) : []
	return node('devices', {}, [
		node(
			'device-list',
			{},
			// companions carry a key index; Baileys ignores non-zero devices without one
			ids.map(id => node('device', id === 0 ? { id: '0' } : { id: String(id), 'key-index': String(id) }))
		)
	])
}

/** A phone-number user's LID; LID users are not given one (they are already one). */
function lidNode(directory: Directory, jid: string, known: KnownUser | undefined): BinaryNode | undefined {
	if (!jid.endsWith('@s.whatsapp.net') || !known) return undefined
	const lid = known.kind === 'account' ? directory.accountLidJid : known.contact.lidJid
	return node('lid', { val: lid })
}

function contactNode(directory: Directory, jid: string): BinaryNode {
	const user = jidDecode(jid)?.user ?? ''
	const registered = jid.endsWith('@lid') ? !!directory.resolve(jid) : directory.isRegistered(user)
	return node('contact', { type: registered ? 'in' : 'out' })
}

export function answerUsync(request: BinaryNode, directory: Directory): BinaryNode {
	const usync = firstChild(request)
	const protocols = children(getBinaryNodeChild(usync, 'query')).map(protocol => protocol.tag)
	const users = children(getBinaryNodeChild(usync, 'list')).map(user => {
		// a lookup by number comes as <user><contact>+15550001111</contact></user>, without a jid
		const phone = textOf(getBinaryNodeChild(user, 'contact'))?.replace(/\D/g, '')
		const jid = user.attrs.jid ?? `${phone}@s.whatsapp.net`
		const known = directory.resolve(jid)
		const answers = protocols.flatMap(protocol => {
			switch (protocol) {
				case 'devices':
					return [devicesNode(directory, known)]
				case 'lid':
					return [lidNode(directory, jid, known)].filter(answer => answer !== undefined)
				case 'contact':
					return [contactNode(directory, jid)]
				default:
					return [] // status, disappearing mode, ...: nothing to say
			}
		})
		return node('user', { jid }, answers)
	})
	return iqResult(request, [
		node('usync', { sid: usync?.attrs.sid, index: '0', last: 'true' }, [node('list', {}, users)])
	])
}
