// A session's contacts cache and the LID <-> phone-number mapping, both persisted so GET /api/contacts and
// webhook `from` fields are right after a restart, before WhatsApp has synced anything again.
//
// The table holds each person once, under their canonical JID: the phone-number JID when it is known,
// else the LID. A LID-only row is folded into the phone-number row as soon as the mapping is learnt
// (and at load, for rows written before that rule). So listing is a plain range scan of the primary
// key: a page costs the same with ten contacts or a million.
import { setImmediate as nextTurn } from 'node:timers/promises'
import { jidNormalizedUser, type Contact as BaileysContact, type LIDMapping } from '@whiskeysockets/baileys'
import type { Db } from '../store/database.js'
import { isLidJid, phoneOf } from './jids.js'
import type { ContactView } from './shapes.js'

type ContactFields = Partial<Pick<ContactView, 'lid' | 'phone' | 'name' | 'notify' | 'verifiedName'>>

export class ContactBook {
  private readonly lidToPn = new Map<string, string>()
  /** What was last written per contact, so repeated push names (one per message) cost no write. */
  private readonly written = new Map<string, string>()

  constructor(
    private readonly db: Db,
    private readonly session: string,
  ) {}

  async load(): Promise<void> {
    const mappings = await this.db.lidMapping.findMany({ where: { session: this.session } })
    for (const { lid, pn } of mappings) this.lidToPn.set(lid, pn)
    const stranded = await this.db.contact.findMany({ where: { session: this.session, jid: { in: mappings.map((m) => m.lid) } }, select: { jid: true } })
    for (const { jid } of stranded) await this.foldLidRow(jid, this.lidToPn.get(jid)!)
  }

  /** The phone-number JID for a LID, when known from any source. */
  resolve = (lid: string): string | undefined => this.lidToPn.get(jidNormalizedUser(lid))

  async rememberMappings(pairs: LIDMapping[]): Promise<void> {
    const fresh = pairs
      .map(({ lid, pn }) => ({ lid: jidNormalizedUser(lid), pn: jidNormalizedUser(pn) }))
      .filter(({ lid, pn }) => isLidJid(lid) && pn && !isLidJid(pn) && this.lidToPn.get(lid) !== pn)
    if (fresh.length === 0) return
    for (const { lid, pn } of fresh) this.lidToPn.set(lid, pn)
    const session = this.session
    await this.db.$transaction(fresh.map(({ lid, pn }) => this.db.lidMapping.upsert({ where: { session_lid: { session, lid } }, create: { session, lid, pn }, update: { pn } })))
    for (const { lid, pn } of fresh) await this.foldLidRow(lid, pn)
  }

  /** Merges what Baileys knows of some contacts (fields it leaves out are kept as they are). */
  async upsert(contacts: Partial<BaileysContact>[]): Promise<void> {
    const mappings: LIDMapping[] = []
    const rows = new Map<string, ContactFields>()
    for (const contact of contacts) {
      if (!contact.id) continue
      const id = jidNormalizedUser(contact.id)
      const lid = isLidJid(id) ? id : contact.lid ? jidNormalizedUser(contact.lid) : undefined
      const pn = !isLidJid(id) ? id : contact.phoneNumber ? jidNormalizedUser(contact.phoneNumber) : lid ? this.resolve(lid) : undefined
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

  /**
   * Moves a LID-only row into the person's phone-number row: fields the phone-number row lacks are
   * taken from the LID row, which is then deleted. Atomic, so a reader sees the person exactly once.
   */
  private async foldLidRow(lid: string, pn: string): Promise<void> {
    const session = this.session
    await this.db.$transaction(async (tx) => {
      const lidRow = await tx.contact.findUnique({ where: { session_jid: { session, jid: lid } } })
      if (!lidRow) return
      const pnRow = await tx.contact.findUnique({ where: { session_jid: { session, jid: pn } } })
      const merged = {
        lid,
        phone: pnRow?.phone ?? phoneOf(pn),
        name: pnRow?.name ?? lidRow.name,
        notify: pnRow?.notify ?? lidRow.notify,
        verifiedName: pnRow?.verifiedName ?? lidRow.verifiedName,
      }
      await tx.contact.upsert({ where: { session_jid: { session, jid: pn } }, create: { session, jid: pn, ...merged }, update: merged })
      await tx.contact.delete({ where: { session_jid: { session, jid: lid } } })
    })
    this.written.delete(lid)
    this.written.delete(pn)
  }
}

/** One page of a session's contacts. */
export interface ContactQuery {
  /** Only contacts whose JID sorts after this one (the last JID of the previous page). */
  after?: string | undefined
  limit: number
  /** Case- and accent-insensitive words matched against the name, push name, business name and phone. */
  search?: string | undefined
}

/** Rows read per round trip while searching; the event loop gets a turn between rounds. */
const SEARCH_BATCH = 2000

/**
 * A page of a session's contacts in JID order, each person once. From the store alone: a process that
 * does not own the session answers this too.
 */
export async function listContacts(db: Db, session: string, query: ContactQuery): Promise<ContactView[]> {
  const matches = query.search ? matcher(query.search) : undefined
  const page: ContactView[] = []
  let after = query.after
  for (;;) {
    const take = matches ? SEARCH_BATCH : query.limit
    const rows = await db.contact.findMany({ where: { session, ...(after !== undefined && { jid: { gt: after } }) }, orderBy: { jid: 'asc' }, take })
    for (const row of rows) {
      const view = toView(row)
      if (!matches || matches(view)) page.push(view)
      if (page.length === query.limit) return page
    }
    if (rows.length < take) return page
    after = rows.at(-1)!.jid
    // A search may read the whole table: let /health and other requests in between rounds.
    await nextTurn()
  }
}

/** One contact by its phone-number JID or its LID (as its own row or as the `lid` of a phone-number row). */
export async function findContact(db: Db, session: string, jid: string): Promise<ContactView | undefined> {
  const row = await db.contact.findFirst({ where: { session, OR: isLidJid(jid) ? [{ jid }, { lid: jid }] : [{ jid }] } })
  return row ? toView(row) : undefined
}

function toView(row: { jid: string; lid: string | null; phone: string | null; name: string | null; notify: string | null; verifiedName: string | null }): ContactView {
  return {
    jid: row.jid,
    lid: row.lid ?? (isLidJid(row.jid) ? row.jid : null),
    phone: row.phone ?? phoneOf(row.jid),
    name: row.name,
    notify: row.notify,
    verifiedName: row.verifiedName,
  }
}

/** Lower case without accents: "José" and "jose" are the same to a person searching. */
const fold = (text: string) => text.normalize('NFD').replace(/\p{Diacritic}/gu, '').toLowerCase()

/** Every word of the search must appear in one of the contact's names or in its phone digits. */
function matcher(search: string): (contact: ContactView) => boolean {
  const words = fold(search).split(/\s+/).filter(Boolean)
  return (contact) => {
    const haystack = fold([contact.name, contact.notify, contact.verifiedName, contact.phone].filter(Boolean).join(' '))
    return words.every((word) => haystack.includes(/^\+?\d+$/.test(word) ? word.replace('+', '') : word))
  }
}
