// `reply_to`: the contextInfo that makes a message quote another. WhatsApp shows a quote from the
// quoted message's id, author and content; the content comes from the sent-message store when this
// service sent the message, and is left out otherwise (the recipient's phone finds it by its id).
import type { proto } from '@whiskeysockets/baileys'
import { validationError } from '../../errors.js'
import type { WhatsAppConnection } from '../connection.js'
import { isGroupJid, ownJid } from './recipient.js'
import { sentMessagesOf } from './sent-lookup.js'

/** Keys of a Message that are envelopes, not the content a quote shows. */
const NOT_CONTENT = new Set(['messageContextInfo', 'senderKeyDistributionMessage'])

/** The message's content alone (its first content field), without its own quote or mentions. */
export function quotable(message: proto.IMessage): proto.IMessage | undefined {
  for (const [key, value] of Object.entries(message)) {
    if (NOT_CONTENT.has(key) || value === null || value === undefined) continue
    if (typeof value !== 'object') return { [key]: value }
    const { contextInfo: _dropped, ...content } = value as Record<string, unknown>
    return { [key]: content }
  }
  return undefined
}

export interface QuoteRequest {
  /** the quoted message's id */
  id: string
  /** who wrote it, when it was not this account (required in groups for messages the service did not send) */
  sender?: string | undefined
}

export async function quoteContext(connection: WhatsAppConnection, chat: string, quote: QuoteRequest): Promise<proto.IContextInfo> {
  const stored = await sentMessagesOf(connection)?.find(quote.id)
  const author = stored ? ownJid(connection) : (quote.sender ?? (isGroupJid(chat) ? undefined : chat))
  if (!author) {
    throw validationError([{ path: 'reply_to_sender', message: 'required to quote, in a group, a message this service did not send: who wrote it' }])
  }
  const quotedMessage = stored && quotable(stored.content)
  return {
    stanzaId: quote.id,
    participant: author,
    ...(quotedMessage && { quotedMessage }),
    // A quote of a message from another chat says where it was.
    ...(stored && stored.jid !== chat && { remoteJid: stored.jid }),
  }
}
