// What a session reports, as zod schemas: the routers declare them as outputs, and the session's
// code takes its TypeScript types from them, so each shape is written once.
import { z } from 'zod'
import { isoTimestamp } from '../events/types.js'
import { storeFaultKinds } from '../store/store-faults.js'

export const connectionStates = ['connecting', 'qr', 'open', 'closed', 'logged_out', 'standby'] as const
export const stateSchema = z.enum(connectionStates)
export type ConnectionState = z.infer<typeof stateSchema>

export const lastDisconnectSchema = z.object({ code: z.number().nullable(), reason: z.string(), at: isoTimestamp })
export type LastDisconnect = z.infer<typeof lastDisconnectSchema>

export const storeStatusSchema = z
  .object({
    status: z.enum(['ok', 'degraded']).describe('degraded: the database cannot be written or reached; the service retries it on its own'),
    cause: z.enum(storeFaultKinds).nullable().describe('unreachable, read-only, full, io, removed (the SQLite file was deleted while running); null when ok'),
    reason: z.string().nullable().describe('The cause in a sentence, with the database\'s own words'),
    since: isoTimestamp.nullable().describe('When the store became degraded (ISO 8601 UTC)'),
  })
  .meta({ id: 'StoreStatus' })
export type StoreStatus = z.infer<typeof storeStatusSchema>

export const statusSchema = z
  .object({
    connected: z.boolean().describe('The WebSocket to WhatsApp is up (also while showing a QR)'),
    loggedIn: z.boolean().describe('Paired and logged in: messages can be sent'),
    device: z.string().describe('This linked device\'s JID, e.g. 573000000:1@s.whatsapp.net ("" before pairing)').meta({ examples: ['573000000000:1@s.whatsapp.net'] }),
    pushName: z.string().meta({ examples: ['Shop'] }),
    platform: z.string().describe('The phone\'s platform as WhatsApp reports it, e.g. smba, android'),
    state: stateSchema.describe(
      'connecting, qr (waiting for a scan), open, closed, logged_out, standby (no process owns the session right now: it is moving to another process)',
    ),
    lastDisconnect: lastDisconnectSchema.nullable().describe('Why the connection last closed, when it is not open'),
    store: storeStatusSchema.optional().describe('Present while the database is degraded (cannot be written or reached), with the cause; absent when it works'),
  })
  .meta({ id: 'Status' })
export type SessionStatus = z.infer<typeof statusSchema>

export const groupSchema = z
  .object({
    jid: z.string(),
    name: z.string(),
    topic: z.string(),
    participants: z.number().int().min(0).describe('Number of participants'),
    createdAt: isoTimestamp.nullable().describe('ISO 8601 UTC'),
  })
  .meta({ id: 'Group' })
export type GroupSummary = z.infer<typeof groupSchema>

export const contactSchema = z
  .object({
    jid: z.string().describe('Phone-number JID when known, else the LID'),
    lid: z.string().nullable(),
    phone: z.string().nullable().describe('Digits, when known'),
    name: z.string().nullable().describe('Name saved in the phone\'s address book'),
    notify: z.string().nullable().describe('The contact\'s own push name'),
    verifiedName: z.string().nullable(),
  })
  .meta({ id: 'Contact' })
export type ContactView = z.infer<typeof contactSchema>

/** What a send returns besides `status: "sent"`. */
export const sentMessageSchema = z.object({
  messageID: z.string().meta({ examples: ['3EB0C431C26A1916E07A'] }),
  timestamp: isoTimestamp,
})
export type SentMessage = z.infer<typeof sentMessageSchema>
