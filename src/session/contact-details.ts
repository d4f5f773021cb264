// What GET /api/contacts/{phone} adds to a stored contact: whether it is a business (with its
// description and category) and its profile picture URL. WhatsApp is asked on demand (a `w:biz` and a
// `w:profile:picture` query) and the answer is kept in memory for an hour, per connection, so a CRM
// opening the same contact again costs WhatsApp nothing.
//
// A read the store can answer never fails because WhatsApp cannot be asked (not connected, a time-out):
// the stored fields come back with nulls and `fetched: false`.
import { z } from 'zod'
import { ApiError } from '../errors.js'
import type { WhatsAppConnection } from './connection.js'
import { phoneOf } from './jids.js'
import { contactSchema, type ContactView } from './shapes.js'

export const businessSchema = z
  .object({
    description: z.string().nullable(),
    category: z.string().nullable(),
  })
  .describe('The business profile, when the contact is a business account')

export const contactDetailsSchema = z
  .object({
    ...contactSchema.shape,
    isBusiness: z.boolean().nullable().describe('A WhatsApp Business account; null when WhatsApp could not be asked'),
    business: businessSchema.nullable(),
    pictureUrl: z.string().nullable().describe('Profile picture (preview size); null when there is none, it is private, or WhatsApp could not be asked'),
    fetched: z.boolean().describe('Whether isBusiness and pictureUrl come from WhatsApp (false: WhatsApp is not connected or did not answer)'),
  })
  .meta({ id: 'ContactDetails' })
export type ContactDetailsView = z.infer<typeof contactDetailsSchema>

/** What WhatsApp said about one JID. */
type Fetched = { isBusiness: boolean; business: { description: string | null; category: string | null } | null; pictureUrl: string | null }

/** How long an answer from WhatsApp is reused: pictures and business profiles change rarely. */
export const DETAILS_TTL_MS = 60 * 60 * 1000
/** Entries kept per connection; the least recently used goes first. */
export const DETAILS_CACHE_SIZE = 1000

/** A small LRU with expiry: a Map keeps insertion order, so re-inserting on a hit marks it recent. */
class DetailsCache {
  private readonly entries = new Map<string, { at: number; value: Fetched }>()

  get(jid: string, now = Date.now()): Fetched | undefined {
    const entry = this.entries.get(jid)
    if (!entry) return undefined
    this.entries.delete(jid)
    if (now - entry.at > DETAILS_TTL_MS) return undefined
    this.entries.set(jid, entry)
    return entry.value
  }

  set(jid: string, value: Fetched, now = Date.now()): void {
    this.entries.delete(jid)
    this.entries.set(jid, { at: now, value })
    if (this.entries.size > DETAILS_CACHE_SIZE) this.entries.delete(this.entries.keys().next().value!)
  }
}

// Per connection: a session re-created (re-paired, taken over by this process) starts afresh.
const caches = new WeakMap<WhatsAppConnection, DetailsCache>()
const cacheOf = (connection: WhatsAppConnection) => {
  let cache = caches.get(connection)
  if (!cache) caches.set(connection, (cache = new DetailsCache()))
  return cache
}

/** WhatsApp's answer for "no such picture" (404) or "not allowed to see it" (401, 403): no picture. */
const isNoPicture = (error: unknown) => [401, 403, 404].includes((error as { data?: unknown } | null)?.data as number)

/** Asks WhatsApp for the business profile and the picture of a JID (cached); undefined when it cannot be asked. */
async function fetchDetails(connection: WhatsAppConnection, jid: string): Promise<Fetched | undefined> {
  const cache = cacheOf(connection)
  const cached = cache.get(jid)
  if (cached) return cached
  try {
    const fetched = await connection.withSocket('read the contact\'s profile', async (socket): Promise<Fetched> => {
      const [profile, pictureUrl] = await Promise.all([
        socket.getBusinessProfile(jid),
        socket.profilePictureUrl(jid, 'preview').catch((error: unknown) => {
          if (isNoPicture(error)) return undefined
          throw error
        }),
      ])
      return {
        isBusiness: profile !== undefined,
        business: profile ? { description: profile.description || null, category: profile.category ?? null } : null,
        pictureUrl: pictureUrl ?? null,
      }
    })
    cache.set(jid, fetched)
    return fetched
  } catch (error) {
    // Not connected, or WhatsApp failed or timed out: the stored fields still answer (not cached, so the next call asks again).
    if (error instanceof ApiError && ['NOT_CONNECTED', 'WHATSAPP_ERROR', 'WHATSAPP_TIMEOUT'].includes(error.errorCode)) return undefined
    throw error
  }
}

/**
 * One contact: the stored one with what WhatsApp says about it, or, for a number the store does not
 * know, what WhatsApp says when the number is on WhatsApp. NOT_FOUND when neither knows it.
 */
export async function contactDetails(stored: ContactView | undefined, jid: string, connection: WhatsAppConnection | undefined): Promise<ContactDetailsView> {
  if (!stored) {
    // The store cannot answer: only WhatsApp can say whether the number exists (503 when not connected).
    if (!connection) throw new ApiError('NOT_CONNECTED', 'WhatsApp is not connected in this process, and the contact is not in the store')
    const digits = phoneOf(jid)
    const registered = digits ? (await connection.registeredNumbers([digits])).get(digits) : undefined
    if (!registered) throw new ApiError('NOT_FOUND', `${digits ?? jid} is not a known contact${digits ? ' and is not on WhatsApp' : ''}`)
    stored = { jid: registered, lid: null, phone: digits, name: null, notify: null, verifiedName: null }
  }
  const fetched = connection ? await fetchDetails(connection, stored.jid) : undefined
  return {
    ...stored,
    isBusiness: fetched?.isBusiness ?? null,
    business: fetched?.business ?? null,
    pictureUrl: fetched?.pictureUrl ?? null,
    fetched: fetched !== undefined,
  }
}
