// One way every message send goes: to the chat a request names, quoting and mentioning what it
// asks for, through the connection's send queue; the answer says where the message went.
import type { AnyMessageContent, proto } from '@whiskeysockets/baileys'
import type { WhatsAppConnection } from '../connection.js'
import type { SentMessage } from '../shapes.js'
import { quoteContext } from './quote.js'
import { describeRecipient, type Recipient } from './recipient.js'

export interface MessageOptions {
  /** id of the message to quote */
  reply_to?: string | undefined
  /** who wrote the quoted message (groups, messages the service did not send) */
  reply_to_sender?: string | undefined
  /** JIDs to @mention */
  mentions?: string[] | undefined
}

export type MessageSent = { status: 'sent' } & SentMessage & Recipient

export async function sendMessage(connection: WhatsAppConnection, chat: string, content: AnyMessageContent, options: MessageOptions = {}): Promise<MessageSent> {
  const contextInfo: proto.IContextInfo | undefined = options.reply_to
    ? await quoteContext(connection, chat, { id: options.reply_to, sender: options.reply_to_sender })
    : undefined
  // Baileys puts `mentions` and `contextInfo` on whatever content the message has, also on kinds
  // its types do not list them for (audio, stickers, locations): WhatsApp quotes those too.
  const full = {
    ...content,
    ...(options.mentions?.length && { mentions: [...new Set(options.mentions)] }),
    ...(contextInfo && { contextInfo }),
  } as AnyMessageContent
  const sent = await connection.send(chat, full)
  return { status: 'sent', ...sent, ...(await describeRecipient(connection, chat)) }
}
