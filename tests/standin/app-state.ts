// App-state sync ("syncd"): the account's settings and address book, shared by all its devices as
// encrypted, versioned patch collections on the server. The phone writes patches with a key it shares
// with each linked device (APP_STATE_SYNC_KEY_SHARE); a linked device fetches new patches when the
// server sends `<notification type="server_sync">`. This is the path by which WhatsApp delivers saved
// contacts, and the only one on which Baileys emits `contacts.upsert`.
//
// Patches are made with Baileys' own `encodeSyncdPatch`, playing the phone's part, so their MACs and
// LT-hashes are the real thing.
import { randomBytes } from 'node:crypto'
import {
	encodeSyncdPatch,
	newLTHashState,
	proto,
	type BinaryNode,
	type LTHashState,
	type WAPatchName
} from '@whiskeysockets/baileys'
import { childrenNamed, firstChild, iqResult, node, unixNow } from './nodes.js'

type Collection = { state: LTHashState; patches: proto.ISyncdPatch[] }

export type SavedContact = {
	/** the address-book entry's id: a phone-number JID (or a LID JID) */
	jid: string
	fullName?: string
	firstName?: string
	/** the contact's LID JID, sent alongside a PN entry (Baileys then also emits `lid-mapping.update`) */
	lidJid?: string
}

export class AppStateServer {
	private readonly keyId = randomBytes(6)
	private readonly keyData: proto.Message.IAppStateSyncKeyData = {
		keyData: randomBytes(32),
		fingerprint: { rawId: randomBytes(4).readUInt32BE(0), currentIndex: 0, deviceIndexes: [0] },
		timestamp: Date.now()
	}
	private readonly collections = new Map<WAPatchName, Collection>()

	/** The protocol message with which the phone hands this key to a newly linked device. */
	keyShareMessage(): proto.IMessage {
		return {
			protocolMessage: {
				type: proto.Message.ProtocolMessage.Type.APP_STATE_SYNC_KEY_SHARE,
				appStateSyncKeyShare: { keys: [{ keyId: { keyId: this.keyId }, keyData: this.keyData }] }
			}
		}
	}

	/** Address-book entries; they land in the `critical_unblock_low` collection, as on a real phone. */
	async saveContacts(contacts: SavedContact[]): Promise<WAPatchName> {
		for (const contact of contacts) {
			await this.write('critical_unblock_low', ['contact', contact.jid], 2, {
				contactAction: {
					fullName: contact.fullName,
					firstName: contact.firstName,
					lidJid: contact.lidJid,
					saveOnPrimaryAddressbook: true
				}
			})
		}
		return 'critical_unblock_low'
	}

	/** The account's own display name (Baileys turns it into `creds.me.name`). */
	async setPushName(name: string): Promise<WAPatchName> {
		await this.write('critical_block', ['setting_pushName'], 1, { pushNameSetting: { name } })
		return 'critical_block'
	}

	version(name: WAPatchName): number {
		return this.collections.get(name)?.state.version ?? 0
	}

	/** `<notification type="server_sync">`: tells linked devices that a collection has new patches. */
	serverSyncNotification(id: string, names: WAPatchName[]): BinaryNode {
		return node(
			'notification',
			{ from: 's.whatsapp.net', type: 'server_sync', id, t: String(unixNow()) },
			names.map(name => node('collection', { name, version: String(this.version(name)) }))
		)
	}

	/** Answer `<iq xmlns="w:sync:app:state"><sync><collection name version/>...`: patches newer than `version`. */
	answer(request: BinaryNode): BinaryNode {
		const wanted = childrenNamed(firstChild(request), 'collection')
		return iqResult(request, [
			node(
				'sync',
				{},
				wanted.map(({ attrs }) => {
					const name = attrs.name as WAPatchName
					const known = Number(attrs.version ?? 0)
					const newer = (this.collections.get(name)?.patches ?? []).filter(patch => Number(patch.version?.version) > known)
					// no snapshot is offered: patches from version 0 rebuild the same state
					return node(
						'collection',
						{ name, version: String(this.version(name)), has_more_patches: 'false' },
						newer.length
							? [node('patches', {}, newer.map(patch => node('patch', {}, proto.SyncdPatch.encode(patch).finish())))]
							: undefined
					)
				})
			)
		])
	}

	private async write(name: WAPatchName, index: string[], apiVersion: number, syncAction: proto.ISyncActionValue) {
		const collection = this.collections.get(name) ?? { state: newLTHashState(), patches: [] }
		const { patch, state } = await encodeSyncdPatch(
			{
				type: name,
				index,
				apiVersion,
				operation: proto.SyncdMutation.SyncdOperation.SET,
				syncAction: { ...syncAction, timestamp: Date.now() }
			},
			this.keyId.toString('base64'),
			collection.state,
			async () => this.keyData
		)
		patch.version = { version: state.version }
		collection.state = state
		collection.patches.push(patch)
		this.collections.set(name, collection)
	}
}
