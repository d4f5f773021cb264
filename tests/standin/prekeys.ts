// The "encrypt" namespace: Signal pre-keys on the server. A linked device uploads its one-time pre-keys
// and asks how many remain; a sender fetches a bundle (identity, signed pre-key, one pre-key) for each
// device it has no session with yet.
import { getBinaryNodeChild, jidDecode, type BinaryNode } from '@whiskeysockets/baileys'
import type { Directory } from './directory.js'
import { takeBundle, type LinkedDevice } from './pairing.js'
import { preKeyBundleNode, type PreKeyBundle } from './signal-peer.js'
import { bytesOf, childrenNamed, firstChild, iqResult, node } from './nodes.js'

const uint = (bytes: Buffer | undefined) => (bytes ? bytes.readUIntBE(0, bytes.length) : 0)

function readSignedPreKey(skey: BinaryNode | undefined): LinkedDevice['keys']['signedPreKey'] | undefined {
	const id = bytesOf(getBinaryNodeChild(skey, 'id'))
	const publicKey = bytesOf(getBinaryNodeChild(skey, 'value'))
	const signature = bytesOf(getBinaryNodeChild(skey, 'signature'))
	return id && publicKey && signature ? { keyId: uint(id), publicKey, signature } : undefined
}

/** Whoever a requested JID names: the account's phone, one of its linked devices, or a contact's phone. */
function bundleFor(directory: Directory, jid: string): PreKeyBundle | undefined {
	const known = directory.resolve(jid)
	const device = jidDecode(jid)?.device ?? 0
	if (!known) return undefined
	if (known.kind === 'contact') return device === 0 ? known.contact.peer.issueBundle() : undefined
	if (device === 0) return directory.phonePeer.issueBundle()
	const linked = directory.linkedDeviceById(device)
	return linked && takeBundle(linked)
}

/**
 * @param device the linked device this connection logged in as (undefined while registering)
 */
export function answerEncryptQuery(request: BinaryNode, directory: Directory, device: LinkedDevice | undefined): BinaryNode {
	const first = firstChild(request)
	switch (first?.tag) {
		case 'count':
			return iqResult(request, [node('count', { value: String(device?.preKeys.size ?? 0) })])
		case 'registration': // upload: <registration/><type/><identity/><list><key>...</list><skey/>
			if (device) {
				for (const key of childrenNamed(getBinaryNodeChild(request, 'list'), 'key')) {
					const id = bytesOf(getBinaryNodeChild(key, 'id'))
					const value = bytesOf(getBinaryNodeChild(key, 'value'))
					if (id && value) device.preKeys.set(uint(id), value)
				}
				device.keys.signedPreKey = readSignedPreKey(getBinaryNodeChild(request, 'skey')) ?? device.keys.signedPreKey
			}
			return iqResult(request)
		case 'rotate':
			if (device) device.keys.signedPreKey = readSignedPreKey(getBinaryNodeChild(first, 'skey')) ?? device.keys.signedPreKey
			return iqResult(request)
		case 'digest':
			// Baileys only checks that a digest comes back; a real one also hashes the key bundle
			return iqResult(request, [node('digest', {})])
		case 'key': {
			const bundles = childrenNamed(first, 'user').flatMap(({ attrs }) => {
				const bundle = attrs.jid ? bundleFor(directory, attrs.jid) : undefined
				return attrs.jid && bundle ? [preKeyBundleNode(attrs.jid, bundle)] : []
			})
			return iqResult(request, [node('list', {}, bundles)])
		}
		default:
			return iqResult(request)
	}
}
