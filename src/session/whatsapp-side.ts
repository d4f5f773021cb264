// Everything that loads Baileys, built in one place. Importing Baileys takes about 0.7 s and some
// 60 MB, so src/app.ts imports this module only after the HTTP server listens (see
// session/while-loading.ts for what requests meet meanwhile); the build keeps it in a chunk of its
// own for the same reason.
import type { UserFacingSocketConfig } from '@whiskeysockets/baileys'
import type { Config } from '../config.js'
import type { EventLog } from '../events/log.js'
import type { Logger } from '../logger.js'
import type { Db } from '../store/database.js'
import { AuthStore } from './auth-store.js'
import { ContactBook } from './contacts.js'
import { SentMessageStore } from './sent-messages.js'
import { WhatsAppSession } from './session.js'

export interface WhatsAppSide {
  contacts: ContactBook
  session: WhatsAppSession
}

export interface WhatsAppSideOptions {
  config: Config
  logger: Logger
  db: Db
  events: EventLog
  printQr: boolean
  socketOptions?: Partial<UserFacingSocketConfig> | undefined
}

/** The contacts cache (loaded from the store) and the session, not yet started. */
export async function createWhatsAppSide({ config, logger, db, events, printQr, socketOptions }: WhatsAppSideOptions): Promise<WhatsAppSide> {
  const contacts = new ContactBook(db)
  await contacts.load()
  const session = new WhatsAppSession({
    config,
    logger,
    auth: new AuthStore(db),
    contacts,
    events,
    sentMessages: new SentMessageStore(db),
    printQr,
    ...(socketOptions && { socketOptions }),
  })
  return { contacts, session }
}
