// History sync: after linking, the phone sends the new device its chats, contacts' names and
// LID <-> phone-number mappings as a protocol message (HISTORY_SYNC_NOTIFICATION) from the account
// itself. Baileys turns it into `messaging-history.set {chats, contacts, messages, lidPnMappings}`.
//
// The payload travels inline (`initialHistBootstrapInlinePayload`, zlib-deflated), which real WhatsApp
// uses for the first bootstrap chunk. Later chunks would be media downloads, but Baileys fetches those
// from the directPath on its default host (mmg.whatsapp.net) with no way to point it elsewhere, so the
// stand-in inlines every chunk.
import { deflateSync } from 'node:zlib'
import { proto } from '@whiskeysockets/baileys'

export type HistorySyncType = 'INITIAL_BOOTSTRAP' | 'RECENT' | 'PUSH_NAME'

export type HistoryContent = {
	/** default INITIAL_BOOTSTRAP; PUSH_NAME carries only `pushNames`, the others only `conversations` */
	syncType?: HistorySyncType
	/** chats; Baileys makes a contact of each (`name` from displayName/name) */
	conversations?: { id: string; name?: string; pnJid?: string; lidJid?: string; unreadCount?: number; messages?: proto.IWebMessageInfo[] }[]
	/** contacts' own display names (Baileys: contacts with `notify`) */
	pushNames?: { id: string; pushName: string }[]
	lidMappings?: { pn: string; lid: string }[]
}

export function historySyncMessage(content: HistoryContent): proto.IMessage {
	const syncType = proto.HistorySync.HistorySyncType[content.syncType ?? 'INITIAL_BOOTSTRAP']
	const history = proto.HistorySync.encode({
		syncType,
		progress: 100,
		chunkOrder: 0,
		conversations: (content.conversations ?? []).map(chat => ({
			id: chat.id,
			name: chat.name,
			displayName: chat.name,
			pnJid: chat.pnJid,
			lidJid: chat.lidJid,
			unreadCount: chat.unreadCount,
			messages: (chat.messages ?? []).map((message, i) => ({ message, msgOrderId: i + 1 }))
		})),
		pushnames: (content.pushNames ?? []).map(({ id, pushName }) => ({ id, pushname: pushName })),
		phoneNumberToLidMappings: (content.lidMappings ?? []).map(({ pn, lid }) => ({ pnJid: pn, lidJid: lid }))
	}).finish()
	return {
		protocolMessage: {
			type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION,
			historySyncNotification: {
				syncType,
				chunkOrder: 0,
				progress: 100,
				initialHistBootstrapInlinePayload: deflateSync(history)
			}
		}
	}
}
