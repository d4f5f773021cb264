// What is done to messages already in a chat: react to one, edit or delete one this account sent,
// mark some read; and the chat state (typing, recording, paused). Each names its message by id: the
// rest of WhatsApp's message key (whose it is, who wrote it in a group) comes from the sent-message
// store when this service sent it, and from the request otherwise.
import type { WAMessageKey, WAPresence } from '@whiskeysockets/baileys'
import { validationError } from '../../errors.js'
import type { WhatsAppConnection } from '../connection.js'
import { isGroupJid } from '../jids.js'
import { sendMessage, type MessageSent } from './send.js'
import { sentMessagesOf } from './sent-lookup.js'

export interface MessageRef {
  chat: string
  id: string
  /** who wrote it, when not this account: needed in groups */
  sender?: string | undefined
  /** whether this account wrote it; by default, whether the service sent it (or `defaultFromMe`) */
  fromMe?: boolean | undefined
}

/** WhatsApp's key of a message in a chat. `senderField` is named when a group message lacks its author. */
async function keyOf(connection: WhatsAppConnection, ref: MessageRef, defaultFromMe: boolean): Promise<WAMessageKey> {
  const stored = await sentMessagesOf(connection)?.find(ref.id)
  const fromMe = ref.fromMe ?? (stored ? true : ref.sender ? false : defaultFromMe)
  if (!fromMe && isGroupJid(ref.chat) && !ref.sender) {
    throw validationError([{ path: 'sender', message: 'required in a group for a message this account did not write: who wrote it (phone or JID)' }])
  }
  return { remoteJid: ref.chat, id: ref.id, fromMe, ...(!fromMe && ref.sender && { participant: ref.sender }) }
}

/** An emoji reaction on a message; an empty emoji removes this account's reaction. */
export async function react(connection: WhatsAppConnection, ref: MessageRef, emoji: string): Promise<MessageSent> {
  // Most reactions answer someone else's message.
  const key = await keyOf(connection, ref, false)
  return sendMessage(connection, ref.chat, { react: { text: emoji, key } })
}

/** A new text for a text message this account sent (WhatsApp allows it for 15 minutes). */
export async function editText(connection: WhatsAppConnection, ref: Omit<MessageRef, 'sender' | 'fromMe'>, text: string): Promise<MessageSent> {
  return sendMessage(connection, ref.chat, { text, edit: { remoteJid: ref.chat, id: ref.id, fromMe: true } })
}

/** Deletes a message for everyone: this account's own, or, as a group admin, anyone's. */
export async function deleteForEveryone(connection: WhatsAppConnection, ref: MessageRef): Promise<MessageSent> {
  // Most deletions take back one's own message, also one sent from the phone (not in the store).
  const key = await keyOf(connection, ref, true)
  return sendMessage(connection, ref.chat, { delete: key })
}

/** Read receipts for messages of a chat (blue ticks, if the account's privacy settings send them). */
export async function markRead(connection: WhatsAppConnection, chat: string, ids: string[], sender: string | undefined): Promise<void> {
  const group = isGroupJid(chat)
  if (group && !sender) throw validationError([{ path: 'sender', message: 'required in a group: who wrote the messages (phone or JID)' }])
  // A receipt names a participant only in a group: in a one-to-one chat the author is the chat.
  const keys = ids.map((id) => ({ remoteJid: chat, id, fromMe: false, ...(group && sender && { participant: sender }) }))
  await connection.withSocket('mark the messages read', (socket) => socket.readMessages(keys))
}

export const chatStates = ['typing', 'recording', 'paused'] as const
export type ChatState = (typeof chatStates)[number]

const PRESENCE: Record<ChatState, WAPresence> = { typing: 'composing', recording: 'recording', paused: 'paused' }

/** What the other side sees at the top of the chat: typing..., recording audio..., or nothing. */
export async function setChatState(connection: WhatsAppConnection, chat: string, state: ChatState): Promise<void> {
  await connection.withSocket('send the chat state', (socket) => socket.sendPresenceUpdate(PRESENCE[state], chat))
}
