// Baileys' notices about things other than new messages, as the service's events (pure): receipts
// of the messages this account sent (`message.ack`), group membership and settings changes
// (`group.participants`, `group.update`) and calls (`call`). A LID is named by its phone-number
// JID when one is known (`resolve`).
import { proto, type BaileysEventMap, type WACallEvent } from '@whiskeysockets/baileys'
import type { EventData } from '../../events/types.js'
import type { LidResolver } from '../incoming.js'
import { isLidJid } from '../jids.js'

type Ack = EventData<'message.ack'>
const Status = proto.WebMessageInfo.Status
const ACK_NAMES = new Map<number, Ack['status']>([
  [Status.SERVER_ACK, 'sent'],
  [Status.DELIVERY_ACK, 'delivered'],
  [Status.READ, 'read'],
  [Status.PLAYED, 'played'],
])

const named = (jid: string | null | undefined, resolve: LidResolver): string | undefined => (jid ? (isLidJid(jid) ? (resolve(jid) ?? jid) : jid) : undefined)
const isoOf = (seconds: unknown): string => {
  const n = Number(typeof seconds === 'object' && seconds ? seconds.toString() : seconds)
  return new Date(Number.isFinite(n) && n > 0 ? n * 1000 : Date.now()).toISOString()
}

/** Status changes of sent messages (direct chats): one `message.ack` each. */
export function acksFromUpdates(updates: BaileysEventMap['messages.update'], resolve: LidResolver): Ack[] {
  const acks: Ack[] = []
  for (const { key, update } of updates) {
    const status = typeof update.status === 'number' ? ACK_NAMES.get(update.status) : undefined
    if (!status || !key.id || !key.remoteJid || !key.fromMe) continue
    acks.push({ messageID: key.id, chat: named(key.remoteJid, resolve)!, status, timestamp: new Date().toISOString() })
  }
  return acks
}

/**
 * Per-member receipts of messages sent to a group: one `message.ack` each, naming the member.
 * Baileys merges the receipts of one member that arrive together into one (delivered and read
 * timestamps side by side), so each one present is an ack. (It reports a played group voice note
 * as read.)
 */
export function acksFromReceipts(receipts: BaileysEventMap['message-receipt.update'], resolve: LidResolver): Ack[] {
  const acks: Ack[] = []
  for (const { key, receipt } of receipts) {
    if (!key.id || !key.remoteJid) continue
    const participant = named(receipt.userJid, resolve)
    const steps = [
      ['delivered', receipt.receiptTimestamp],
      ['read', receipt.readTimestamp],
      ['played', receipt.playedTimestamp],
    ] as const
    for (const [status, at] of steps) {
      if (at) acks.push({ messageID: key.id, chat: key.remoteJid, status, ...(participant && { participant }), timestamp: isoOf(at) })
    }
  }
  return acks
}

export function participantsEvent(update: BaileysEventMap['group-participants.update'], resolve: LidResolver): EventData<'group.participants'> {
  const by = update.authorPn ?? named(update.author, resolve)
  return {
    group: update.id,
    action: update.action,
    participants: update.participants.map((p) => p.phoneNumber ?? named(p.id, resolve) ?? p.id),
    ...(by && { by }),
  }
}

/**
 * Whether a 'groups.update' is Baileys reporting a group it fetched (groupFetchAllParticipating
 * emits every group it lists as one, metadata and participants and all) rather than a change
 * WhatsApp told of (those carry the changed fields, never the participants).
 */
export function isFetchedGroup(update: BaileysEventMap['groups.update'][number]): boolean {
  return Array.isArray(update.participants)
}

/** Subject, description and settings changes; undefined when the update carries none of them. */
export function groupUpdateEvent(update: BaileysEventMap['groups.update'][number], resolve: LidResolver): EventData<'group.update'> | undefined {
  if (!update.id || isFetchedGroup(update)) return undefined
  const by = update.authorPn ?? named(update.author, resolve)
  const event: EventData<'group.update'> = {
    group: update.id,
    ...(update.subject !== undefined && { subject: update.subject }),
    ...(update.desc !== undefined && { description: update.desc ?? '' }),
    ...(update.announce !== undefined && { announce: Boolean(update.announce) }),
    ...(update.restrict !== undefined && { restrict: Boolean(update.restrict) }),
  }
  if (Object.keys(event).length === 1) return undefined
  return { ...event, ...(by && { by }) }
}

const CALL_STATUSES = new Set<string>(['offer', 'ringing', 'timeout', 'reject', 'accept', 'terminate'])

/** A call's offer and how it ended; undefined for the signalling in between (transport, latency...). */
export function callEvent(call: WACallEvent, resolve: LidResolver, rejected: boolean): EventData<'call'> | undefined {
  if (!CALL_STATUSES.has(call.status)) return undefined
  return {
    callID: call.id,
    from: call.callerPn ?? named(call.from, resolve) ?? call.from,
    status: call.status as EventData<'call'>['status'],
    isVideo: Boolean(call.isVideo),
    isGroup: Boolean(call.isGroup),
    timestamp: (call.date instanceof Date ? call.date : new Date()).toISOString(),
    ...(rejected && { rejected: true }),
  }
}
