// What a request handler can reach. Built once by the composition root (src/app.ts).
import type { Config } from './config.js'
import type { EventLog } from './events/log.js'
import type { Logger } from './logger.js'
import type { Db } from './store/database.js'
import type { WebhookSettings } from './webhooks/settings.js'
import type { WebhookWorker } from './webhooks/worker.js'
import type { ContactBook } from './session/contacts.js'
import type { WhatsAppSession } from './session/session.js'

export interface Services {
  config: Config
  logger: Logger
  db: Db
  events: EventLog
  webhookSettings: WebhookSettings
  /** Delivers the webhook outbox. */
  webhookWorker: WebhookWorker
  session: WhatsAppSession
  contacts: ContactBook
}
