// The rows that make up a session, across every table keyed by session: created together, and
// wiped together when the session is deleted. A table added for sessions is added here too.
import type { Db } from './database.js'

/** Wipes a session: its auth state, settings, webhooks, contacts, events, outbox, sent messages, stored messages and chats, incoming media, keys, idempotency keys and the session itself. */
export async function deleteSessionRows(db: Db, session: string): Promise<void> {
  const where = { session }
  await db.$transaction([
    db.authKey.deleteMany({ where }),
    db.setting.deleteMany({ where }),
    db.webhook.deleteMany({ where }),
    db.contact.deleteMany({ where }),
    db.lidMapping.deleteMany({ where }),
    db.event.deleteMany({ where }),
    db.webhookDelivery.deleteMany({ where }),
    db.sentMessage.deleteMany({ where }),
    db.message.deleteMany({ where }),
    db.chat.deleteMany({ where }),
    db.media.deleteMany({ where }),
    db.sessionKey.deleteMany({ where }),
    db.idempotencyKey.deleteMany({ where }),
    db.lease.deleteMany({ where: { name: session } }),
    db.session.deleteMany({ where: { name: session } }),
  ])
}
