// Everything of a session that needs Baileys, built in one place. Importing Baileys takes about
// 0.7 s and some 60 MB, so session.ts imports this module only when a session first needs it, after
// the HTTP server listens; the build keeps it in a chunk of its own for the same reason.
import type { UserFacingSocketConfig } from '@whiskeysockets/baileys'
import type { Config } from '../config.js'
import type { EventLog } from '../events/log.js'
import type { Logger } from '../logger.js'
import type { Db } from '../store/database.js'
import { MessageStore } from '../messages/store.js'
import { MediaStore } from '../media/store.js'
import { AuthStore } from './auth-store.js'
import type { UnwrittenKeys } from './unwritten-keys.js'
import { WhatsAppConnection } from './connection.js'
import { ContactBook } from './contacts.js'
import { keepSentMessagesOf } from './outgoing/sent-lookup.js'
import { SentMessageStore } from './sent-messages.js'

export interface WhatsAppParts {
  contacts: ContactBook
  connection: WhatsAppConnection
}

export interface WhatsAppPartsOptions {
  session: string
  config: Config
  logger: Logger
  db: Db
  events: EventLog
  printQr: boolean
  socketOptions?: Partial<UserFacingSocketConfig> | undefined
  /** The session's auth keys a closed connection could not write (auth-store.ts). */
  unwrittenKeys?: UnwrittenKeys
}

/** The session's contacts book (loaded from the store) and its connection, not yet started. */
export async function createWhatsAppParts({ session, config, logger, db, events, printQr, socketOptions, unwrittenKeys }: WhatsAppPartsOptions): Promise<WhatsAppParts> {
  const contacts = new ContactBook(db, session)
  await contacts.load()
  const sentMessages = new SentMessageStore(db, session)
  const connection = new WhatsAppConnection({
    session,
    config,
    logger,
    auth: new AuthStore(db, session, logger.child({ module: 'auth' }), unwrittenKeys),
    contacts,
    events,
    sentMessages,
    messages: new MessageStore({ db, session, logger, retentionDays: config.MESSAGE_RETENTION_DAYS, resolve: contacts.resolve }),
    media: new MediaStore(db, session),
    printQr,
    ...(socketOptions && { socketOptions }),
  })
  keepSentMessagesOf(connection, sentMessages)
  return { contacts, connection }
}
