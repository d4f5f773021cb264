// A session's contacts cache and the LID <-> phone-number mapping, both persisted so GET /api/contacts and
// webhook `from` fields are right after a restart, before WhatsApp has synced anything again.
import { isLidUser, jidNormalizedUser, type Contact as BaileysContact, type LIDMapping } from '@whiskeysockets/baileys'
import type { Db } from '../store/database.js'

import type { ContactView } from './shapes.js'

type ContactFields = Partial<Pick<ContactView, 'lid' | 'phone' | 'name' | 'notify' | 'verifiedName'>>

const phoneOf = (jid: string) => (isLidUser(jid) ? null : (jid.split('@')[0] ?? null))

export class ContactBook {
  private readonly lidToPn = new Map<string, string>()
  /** What was last written per contact, so repeated push names (one per message) cost no write. */
  private readonly written = new Map<string, string>()

  constructor(
    private readonly db: Db,
    private readonly session: string,
  ) {}

  async load(): Promise<void> {
    for (const { lid, pn } of await this.db.lidMapping.findMany({ where: { session: this.session } })) this.lidToPn.set(lid, pn)
  }

  /** The phone-number JID for a LID, when known from any source. */
  resolve = (lid: string): string | undefined => this.lidToPn.get(jidNormalizedUser(lid))

  async rememberMappings(pairs: LIDMapping[]): Promise<void> {
    const fresh = pairs
      .map(({ lid, pn }) => ({ lid: jidNormalizedUser(lid), pn: jidNormalizedUser(pn) }))
      .filter(({ lid, pn }) => isLidUser(lid) && pn && !isLidUser(pn) && this.lidToPn.get(lid) !== pn)
    if (fresh.length === 0) return
    for (const { lid, pn } of fresh) this.lidToPn.set(lid, pn)
    const session = this.session
    await this.db.$transaction(fresh.map(({ lid, pn }) => this.db.lidMapping.upsert({ where: { session_lid: { session, lid } }, create: { session, lid, pn }, update: { pn } })))
  }

  /** Merges what Baileys knows of some contacts (fields it leaves out are kept as they are). */
  async upsert(contacts: Partial<BaileysContact>[]): Promise<void> {
    const mappings: LIDMapping[] = []
    const rows = new Map<string, ContactFields>()
    for (const contact of contacts) {
      if (!contact.id) continue
      const id = jidNormalizedUser(contact.id)
      const lid = isLidUser(id) ? id : contact.lid ? jidNormalizedUser(contact.lid) : undefined
      const pn = !isLidUser(id) ? id : contact.phoneNumber ? jidNormalizedUser(contact.phoneNumber) : lid ? this.resolve(lid) : undefined
      if (lid && pn) mappings.push({ lid, pn })
      const jid = pn ?? id
      const fields: ContactFields = { ...rows.get(jid) }
      if (lid) fields.lid = lid
      if (pn) fields.phone = phoneOf(pn)
      if (contact.name) fields.name = contact.name
      if (contact.notify) fields.notify = contact.notify
      if (contact.verifiedName) fields.verifiedName = contact.verifiedName
      rows.set(jid, fields)
    }
    await this.rememberMappings(mappings)
    const changed = [...rows].filter(([jid, fields]) => this.written.get(jid) !== JSON.stringify(fields))
    if (changed.length === 0) return
    await this.db.$transaction(
      changed.map(([jid, fields]) =>
        this.db.contact.upsert({ where: { session_jid: { session: this.session, jid } }, create: { session: this.session, jid, phone: phoneOf(jid), ...fields }, update: fields }),
      ),
    )
    for (const [jid, fields] of changed) this.written.set(jid, JSON.stringify(fields))
  }

  list(): Promise<ContactView[]> {
    return listContacts(this.db, this.session)
  }
}

/**
 * A session's contacts, each once: a LID-only entry whose phone number became known is merged into
 * it. From the store alone: a process that does not own the session answers this too.
 */
export async function listContacts(db: Db, session: string): Promise<ContactView[]> {
  const where = { session }
  const [rows, mappings] = await Promise.all([db.contact.findMany({ where, orderBy: { jid: 'asc' } }), db.lidMapping.findMany({ where })])
  const lidToPn = new Map(mappings.map(({ lid, pn }) => [lid, pn]))
  const byJid = new Map<string, ContactView>()
  for (const row of rows) {
    const pn = isLidUser(row.jid) ? lidToPn.get(row.jid) : undefined
    const jid = pn ?? row.jid
    const view: ContactView = {
      jid,
      lid: row.lid ?? (isLidUser(row.jid) ? row.jid : null),
      phone: row.phone ?? phoneOf(jid),
      name: row.name,
      notify: row.notify,
      verifiedName: row.verifiedName,
    }
    const existing = byJid.get(jid)
    byJid.set(jid, existing ? mergeViews(existing, view) : view)
  }
  return [...byJid.values()]
}


function mergeViews(a: ContactView, b: ContactView): ContactView {
  return {
    jid: a.jid,
    lid: a.lid ?? b.lid,
    phone: a.phone ?? b.phone,
    name: a.name ?? b.name,
    notify: a.notify ?? b.notify,
    verifiedName: a.verifiedName ?? b.verifiedName,
  }
}
