// What an incoming message says, kind by kind, as the `message` event's fields (pure): text,
// media details, location, contact cards, reaction, poll, and the reply/mention context any kind
// can carry. Edits and deletions (protocol messages) are not messages: changeOf() reads them.
import { normalizeMessageContent, proto, type MediaType, type WAMessage } from '@whiskeysockets/baileys'
import type { EventData } from '../../events/types.js'

type MessageEvent = EventData<'message'>
export type ContentFields = Omit<MessageEvent, 'from' | 'chat' | 'messageID' | 'pushName' | 'timestamp' | 'isGroup' | 'fromMe' | 'fromLid'>

/** A downloadable media part of a message: what the media store needs to fetch and decrypt it. */
export interface MediaPart {
  type: MediaType
  mimetype: string
  fileName: string | undefined
  /** As the sender declared them (the stored bytes are checked and hashed again). */
  declaredSize: number
  declaredSha256: string
  url: string | undefined
  directPath: string | undefined
  mediaKey: Uint8Array
}

const MEDIA_KINDS = [
  ['image', 'imageMessage'],
  ['video', 'videoMessage'],
  ['document', 'documentMessage'],
  ['audio', 'audioMessage'],
  ['sticker', 'stickerMessage'],
] as const

type Content = proto.IMessage

/** The media part of a message, when it has one with a key to decrypt it. */
export function mediaPartOf(message: WAMessage['message']): MediaPart | undefined {
  const content = normalizeMessageContent(message)
  if (!content) return undefined
  for (const [type, field] of MEDIA_KINDS) {
    const media = content[field]
    if (!media?.mediaKey || !(media.url || media.directPath)) continue
    return {
      type,
      mimetype: media.mimetype ?? 'application/octet-stream',
      fileName: 'fileName' in media && media.fileName ? media.fileName : undefined,
      declaredSize: Number(media.fileLength ?? 0),
      declaredSha256: media.fileSha256 ? Buffer.from(media.fileSha256).toString('hex') : '',
      url: media.url ?? undefined,
      directPath: media.directPath ?? undefined,
      mediaKey: media.mediaKey,
    }
  }
  return undefined
}

/** The displayable part of a message: its type and its own fields. Undefined for protocol noise. */
export function describeContent(message: WAMessage['message']): ContentFields | undefined {
  const content = normalizeMessageContent(message)
  if (!content) return undefined
  const described = describeKind(content)
  if (!described) return undefined
  return { ...described, ...contextOf(content) }
}

function describeKind(content: Content): ContentFields | undefined {
  if (content.conversation) return { type: 'text', text: content.conversation }
  if (content.extendedTextMessage?.text) return { type: 'text', text: content.extendedTextMessage.text }
  for (const [type, field] of MEDIA_KINDS) {
    const m = content[field]
    if (!m) continue
    const caption = 'caption' in m ? (m.caption ?? undefined) : undefined
    return {
      type,
      text: caption ?? '',
      ...(caption !== undefined && { caption }),
      ...(m.mimetype && { mimetype: m.mimetype }),
      ...('fileName' in m && m.fileName && { fileName: m.fileName }),
      ...('ptt' in m && m.ptt && { ptt: true }),
      ...('gifPlayback' in m && m.gifPlayback && { gifPlayback: true }),
      ...('seconds' in m && typeof m.seconds === 'number' && { seconds: m.seconds }),
    }
  }
  const location = content.locationMessage ?? content.liveLocationMessage
  if (location) {
    const name = 'name' in location ? (location.name ?? undefined) : undefined
    const address = 'address' in location ? (location.address ?? undefined) : undefined
    return {
      type: 'location',
      text: name ?? address ?? '',
      location: {
        latitude: location.degreesLatitude ?? 0,
        longitude: location.degreesLongitude ?? 0,
        ...(name && { name }),
        ...(address && { address }),
      },
    }
  }
  if (content.contactMessage) {
    const card = { displayName: content.contactMessage.displayName ?? '', vcard: content.contactMessage.vcard ?? '' }
    return { type: 'contact', text: card.displayName, contacts: [card] }
  }
  if (content.contactsArrayMessage) {
    const cards = (content.contactsArrayMessage.contacts ?? []).map((c) => ({ displayName: c.displayName ?? '', vcard: c.vcard ?? '' }))
    return { type: 'contact', text: content.contactsArrayMessage.displayName ?? cards.map((c) => c.displayName).join(', '), contacts: cards }
  }
  if (content.reactionMessage) {
    const emoji = content.reactionMessage.text ?? ''
    return { type: 'reaction', text: emoji, reaction: { messageID: content.reactionMessage.key?.id ?? '', emoji } }
  }
  const poll = content.pollCreationMessage ?? content.pollCreationMessageV2 ?? content.pollCreationMessageV3
  if (poll) {
    const question = poll.name ?? ''
    const options = (poll.options ?? []).map((o) => o.optionName ?? '')
    return { type: 'poll', text: question, poll: { question, options, selectableCount: poll.selectableOptionsCount ?? 0 } }
  }
  return undefined
}

/** The reply and mentions a message carries (any kind may have a contextInfo). */
function contextOf(content: Content): Pick<ContentFields, 'quotedMessageID' | 'mentions'> {
  for (const part of Object.values(content)) {
    if (!part || typeof part !== 'object' || !('contextInfo' in part)) continue
    const context = (part as { contextInfo?: proto.IContextInfo | null }).contextInfo
    if (!context) continue
    const mentions = context.mentionedJid?.filter(Boolean) ?? []
    return { ...(context.stanzaId && { quotedMessageID: context.stanzaId }), ...(mentions.length && { mentions }) }
  }
  return {}
}

/** An edit or a deletion for everyone of an earlier message, which the message is (protocol message). */
export type MessageChange = { kind: 'edited'; messageID: string; text: string } | { kind: 'revoked'; messageID: string }

export function changeOf(message: WAMessage['message']): MessageChange | undefined {
  const protocol = normalizeMessageContent(message)?.protocolMessage
  const id = protocol?.key?.id
  if (!protocol || !id) return undefined
  if (protocol.type === proto.Message.ProtocolMessage.Type.REVOKE) return { kind: 'revoked', messageID: id }
  if (protocol.type === proto.Message.ProtocolMessage.Type.MESSAGE_EDIT && protocol.editedMessage) {
    const edited = normalizeMessageContent(protocol.editedMessage)
    const text =
      edited?.conversation ??
      edited?.extendedTextMessage?.text ??
      edited?.imageMessage?.caption ??
      edited?.videoMessage?.caption ??
      edited?.documentMessage?.caption ??
      ''
    return { kind: 'edited', messageID: id, text }
  }
  return undefined
}
