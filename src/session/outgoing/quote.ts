// `reply_to`: what makes a message quote another. WhatsApp shows a quote from the quoted message's
// id, author and content. When this service sent it, the sent-message store has it all, and Baileys
// builds the quote (`quoted`, which it places right for every kind of message, polls included).
// Otherwise the quote is the id and the author alone (a contextInfo of our own): the recipient's
// phone finds the content by its id.
import type { MiscMessageGenerationOptions, proto } from '@whiskeysockets/baileys'
import { validationError } from '../../errors.js'
import type { WhatsAppConnection } from '../connection.js'
import { isGroupJid } from '../jids.js'
import { sentMessagesOf } from './sent-lookup.js'

export interface QuoteRequest {
  /** the quoted message's id */
  id: string
  /** who wrote it, when it was not this account (required in groups for messages the service did not send) */
  sender?: string | undefined
}

export type Quote = { quoted: NonNullable<MiscMessageGenerationOptions['quoted']> } | { contextInfo: proto.IContextInfo }

export async function quoteFor(connection: WhatsAppConnection, chat: string, quote: QuoteRequest): Promise<Quote> {
  const stored = await sentMessagesOf(connection)?.find(quote.id)
  if (stored) return { quoted: { key: { remoteJid: stored.jid, id: quote.id, fromMe: true }, message: stored.content } }
  const author = quote.sender ?? (isGroupJid(chat) ? undefined : chat)
  if (!author) {
    throw validationError([{ path: 'reply_to_sender', message: 'required to quote, in a group, a message this service did not send: who wrote it' }])
  }
  return { contextInfo: { stanzaId: quote.id, participant: author } }
}
