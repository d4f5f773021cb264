// One way every message send goes: to the chat a request names, quoting and mentioning what it
// asks for, through the connection's send queue; the answer says where the message went.
import type { AnyMessageContent } from '@whiskeysockets/baileys'
import { validationError } from '../../errors.js'
import { takePinnedMessageId } from '../../idempotency/pinned-id.js'
import type { WhatsAppConnection } from '../connection.js'
import type { SentMessage } from '../shapes.js'
import { quoteFor } from './quote.js'
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
  const quote = options.reply_to ? await quoteFor(connection, chat, { id: options.reply_to, sender: options.reply_to_sender }) : undefined
  if (quote && 'contextInfo' in quote && 'poll' in content) {
    throw validationError([{ path: 'reply_to', message: 'a poll can quote only a message this service sent' }])
  }
  // Baileys puts `mentions` and `contextInfo` on the message's first field, whatever its kind (also
  // kinds its types do not list them for: audio, stickers, locations). A poll's first field is its
  // secret, not the poll: polls take neither (their router offers no mentions; see quote.ts).
  const full = {
    ...content,
    ...(options.mentions?.length && { mentions: [...new Set(options.mentions)] }),
    ...(quote && 'contextInfo' in quote && { contextInfo: quote.contextInfo }),
  } as AnyMessageContent
  // An idempotent send goes out under the id its key holds (src/idempotency/pinned-id.ts).
  const messageId = takePinnedMessageId()
  const sent = await connection.send(chat, full, { ...(quote && 'quoted' in quote && { quoted: quote.quoted }), ...(messageId && { messageId }) })
  return { status: 'sent', ...sent, ...(await describeRecipient(connection, chat)) }
}
