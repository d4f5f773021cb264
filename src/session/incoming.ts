// Turns a message Baileys received into the contract's `message` event (see
// ../shared/notes/api-decisions.md for the LID rules). Pure: the LID -> phone lookup is passed in.
import { isJidGroup, isLidUser, jidNormalizedUser, normalizeMessageContent, type WAMessage } from '@whiskeysockets/baileys'
import type { EventData } from '../events/types.js'

type MessageEvent = EventData<'message'>
export type LidResolver = (lid: string) => string | undefined

function toIso(timestamp: WAMessage['messageTimestamp']): string {
  const seconds = typeof timestamp === 'number' ? timestamp : timestamp ? Number(timestamp.toString()) : Date.now() / 1000
  return new Date(seconds * 1000).toISOString()
}

/** The displayable part of a message: its type, text and media details. Undefined for protocol noise. */
function describeContent(message: WAMessage['message']): Pick<MessageEvent, 'type' | 'text' | 'caption' | 'mimetype' | 'fileName'> | undefined {
  const content = normalizeMessageContent(message)
  if (!content) return undefined
  if (content.conversation) return { type: 'text', text: content.conversation }
  if (content.extendedTextMessage?.text) return { type: 'text', text: content.extendedTextMessage.text }
  const media = (
    [
      ['image', content.imageMessage],
      ['video', content.videoMessage],
      ['document', content.documentMessage],
      ['audio', content.audioMessage],
      ['sticker', content.stickerMessage],
    ] as const
  ).find(([, m]) => m)
  if (media) {
    const [type, m] = media
    const caption = 'caption' in m! ? (m.caption ?? undefined) : undefined
    return {
      type,
      text: caption ?? '',
      ...(caption !== undefined && { caption }),
      ...(m!.mimetype && { mimetype: m!.mimetype }),
      ...('fileName' in m! && m.fileName && { fileName: m.fileName }),
    }
  }
  if (content.locationMessage) return { type: 'location', text: content.locationMessage.name ?? content.locationMessage.address ?? '' }
  if (content.contactMessage) return { type: 'contact', text: content.contactMessage.displayName ?? '' }
  if (content.reactionMessage) return { type: 'reaction', text: content.reactionMessage.text ?? '' }
  return undefined
}

/** A person as a phone-number JID where one is known anywhere, plus the LID when there is one. */
function person(jids: Array<string | null | undefined>, resolve: LidResolver): { jid: string; lid?: string } | undefined {
  const known = jids.filter((j): j is string => Boolean(j)).map((j) => jidNormalizedUser(j))
  const lid = known.find((j) => isLidUser(j))
  const pn = known.find((j) => !isLidUser(j)) ?? (lid ? resolve(lid) : undefined)
  const jid = pn ?? lid
  if (!jid) return undefined
  return lid && lid !== jid ? { jid, lid } : { jid }
}

export interface IncomingContext {
  resolve: LidResolver
  /** This device's own user JID, the sender of messages sent from the phone. */
  self: string | undefined
}

export function toMessageEvent(message: WAMessage, { resolve, self }: IncomingContext): MessageEvent | undefined {
  const { key } = message
  if (!key.remoteJid || !key.id) return undefined
  const content = describeContent(message.message)
  if (!content) return undefined
  const isGroup = Boolean(isJidGroup(key.remoteJid))
  // The other side of a direct chat; in a group, the participant who wrote.
  const counterpart = isGroup ? person([key.participantAlt, key.participant], resolve) : person([key.remoteJidAlt, key.remoteJid], resolve)
  const sender = key.fromMe && self ? { jid: jidNormalizedUser(self) } : counterpart
  if (!sender) return undefined
  return {
    from: sender.jid,
    chat: isGroup ? key.remoteJid : (counterpart?.jid ?? key.remoteJid),
    messageID: key.id,
    pushName: message.pushName ?? '',
    timestamp: toIso(message.messageTimestamp),
    ...content,
    isGroup,
    ...(key.fromMe && { fromMe: true }),
    ...(sender.lid && { fromLid: sender.lid }),
  }
}
