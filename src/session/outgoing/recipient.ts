// Who a message goes to: `phone` or `chat` turned into one JID, and what is known of the person
// behind it (the phone-number JID and the LID, from Baileys' LID mapping), for the send's answer.
import { validationError } from '../../errors.js'
import type { WhatsAppConnection } from '../connection.js'
import { isGroupJid, isLidJid } from '../jids.js'

export interface Target {
  phone?: string | undefined
  chat?: string | undefined
}

export interface Recipient {
  chat: string
  phoneJid?: string
  lid?: string
}

/** The chat JID a request names; a 400 naming `phone` when it names none, or both. */
export function chatOf(target: Target): string {
  if (target.phone && target.chat) throw validationError([{ path: 'chat', message: 'give either phone or chat, not both' }])
  if (target.phone) return `${target.phone}@s.whatsapp.net`
  if (target.chat) return target.chat
  throw validationError([{ path: 'phone', message: 'required: the phone number to send to (or a chat JID in `chat`)' }])
}

/** The chat, plus the person's phone-number JID and LID when Baileys knows them. */
export async function describeRecipient(connection: WhatsAppConnection, chat: string): Promise<Recipient> {
  if (isGroupJid(chat)) return { chat }
  // Unknown mappings are simply left out: they never fail a send that already happened.
  const other = await connection
    .withSocket('look up the LID mapping', async (socket) => {
      const mapping = socket.signalRepository.lidMapping
      return isLidJid(chat) ? mapping.getPNForLID(chat) : mapping.getLIDForPN(chat)
    })
    .catch(() => null)
  const bare = other?.replace(/:\d+@/, '@')
  return isLidJid(chat) ? { chat, lid: chat, ...(bare && { phoneJid: bare }) } : { chat, phoneJid: chat, ...(bare && { lid: bare }) }
}

/** This account's own phone-number JID without the device part, e.g. 573000000@s.whatsapp.net. */
export function ownJid(connection: WhatsAppConnection): string | undefined {
  const device = connection.status().device
  return device ? device.replace(/:\d+@/, '@') : undefined
}
