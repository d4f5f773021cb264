// What a WhatsApp message becomes in the store: the webhook event's fields (incoming.ts's
// toMessageEvent, so a stored message and its webhook agree), the columns lists filter on, and what
// Baileys' updates (status, edit, revoke) change. Pure: the LID lookup and the account's JID come in.
import { getContentType, normalizeMessageContent, proto, WAMessageStubType, type WAMessage, type WAMessageContent, type WAMessageUpdate } from '@whiskeysockets/baileys'
import { toMessageEvent, type IncomingContext } from '../session/incoming.js'
import { STATUS, type MessageData } from './shapes.js'

export interface MessageRecord {
  id: string
  chat: string
  sender: string
  fromMe: boolean
  type: string
  sentAt: Date
  status: number
  data: MessageData
  editedAt: Date | null
  deletedAt: Date | null
}

/** Content kinds that are signalling, not messages: edits, revokes, key shares, history notifications... */
const NOT_MESSAGES = new Set<keyof proto.IMessage>(['protocolMessage', 'senderKeyDistributionMessage', 'messageContextInfo', 'keepInChatMessage', 'pinInChatMessage', 'encReactionMessage', 'pollUpdateMessage'])

/** Whether a message is one a person wrote (any kind), as opposed to signalling or a group notice. */
function isConversationMessage(content: WAMessageContent | null | undefined): boolean {
  const normal = normalizeMessageContent(content)
  if (!normal) return false
  const kind = getContentType(normal)
  return kind !== undefined && !NOT_MESSAGES.has(kind)
}

const isRevoked = (message: WAMessage | Partial<WAMessage>) => message.messageStubType === WAMessageStubType.REVOKE

/**
 * A message as a store row; undefined for what is not a conversation message. A message that
 * arrived already edited or revoked (Baileys folds updates into messages it still holds) is stored so.
 */
export function toRecord(message: WAMessage, context: IncomingContext): MessageRecord | undefined {
  const { key } = message
  if (!key.id || !key.remoteJid || key.remoteJid === 'status@broadcast' || key.remoteJid.endsWith('@newsletter')) return undefined
  const revoked = isRevoked(message)
  if (!revoked && !isConversationMessage(message.message)) return undefined
  // Kinds the webhook has no type for (polls, events, ...) and revoked messages (no content left)
  // are still messages of the chat: their addressing is taken from an empty text of the same key.
  const event = toMessageEvent(message, context) ?? toMessageEvent({ ...message, message: { conversation: '' } }, context)
  if (!event) return undefined
  const data: MessageData = event.type ? event : { ...event, type: 'other' }
  const at = new Date(data.timestamp)
  const edited = Boolean(message.message?.editedMessage)
  return {
    id: key.id,
    chat: data.chat,
    sender: data.from,
    fromMe: Boolean(key.fromMe),
    type: data.type ?? 'other',
    sentAt: at,
    status: message.status ?? (key.fromMe ? STATUS.pending : STATUS.delivered),
    data,
    editedAt: edited ? at : null,
    deletedAt: revoked ? new Date() : null,
  }
}

/** What one `messages.update` changes in a stored message. */
export type MessageChange =
  | { kind: 'status'; status: number }
  | { kind: 'edit'; content: WAMessageContent; at: Date }
  | { kind: 'revoke'; at: Date }

export function changesOf({ update }: WAMessageUpdate): MessageChange[] {
  const changes: MessageChange[] = []
  if (typeof update.status === 'number') changes.push({ kind: 'status', status: update.status })
  if (isRevoked(update) && update.message === null) changes.push({ kind: 'revoke', at: new Date() })
  const edited = update.message?.editedMessage?.message ?? update.message?.protocolMessage?.editedMessage
  if (edited) {
    const seconds = Number(update.messageTimestamp?.toString() ?? NaN)
    changes.push({ kind: 'edit', content: edited, at: Number.isFinite(seconds) ? new Date(seconds * 1000) : new Date() })
  }
  return changes
}

/** A message's data with new content (an edit): type, text, caption, file details as toMessageEvent reads them. */
export function withContent(data: MessageData, content: WAMessageContent, context: IncomingContext): MessageData {
  // Only the content is read; the key just has to be one toMessageEvent accepts (a group's names its author).
  const key = { id: data.messageID, remoteJid: data.chat, fromMe: Boolean(data.fromMe), ...(data.isGroup && { participant: data.from }) }
  const fresh = toMessageEvent({ key, message: content, messageTimestamp: 0 }, context)
  if (!fresh) return data
  const { type, text, caption, mimetype, fileName } = fresh
  const { caption: _c, mimetype: _m, fileName: _f, ...rest } = data
  return { ...rest, type, text, ...(caption !== undefined && { caption }), ...(mimetype && { mimetype }), ...(fileName && { fileName }) }
}

/** Status only moves forward (a late "delivered" never undoes "read"); an error replaces a status short of delivered. */
export function nextStatus(current: number, incoming: number): number {
  if (incoming === STATUS.error) return current < STATUS.delivered ? STATUS.error : current
  return Math.max(current, incoming)
}
