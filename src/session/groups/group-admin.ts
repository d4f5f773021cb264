// The group operations the API offers (issue 17): read one group, create, change its info and
// settings, add/remove/promote/demote participants, the invite link, join by code, leave, and join
// requests. Every call goes through the connection's open socket (503 when not connected, 502 when
// WhatsApp refuses) and WhatsApp's "no such group" becomes a 404. After a change of our own, the
// group's cached metadata is dropped so the next read shows it, the same way WhatsApp's w:gp2
// notifications drop it when a phone changes the group (connection.ts).
//
// Baileys is only imported for types: this module is loaded with the routers, before Baileys is
// (see load-whatsapp.ts).
import { randomBytes } from 'node:crypto'
import type { BinaryNode, GroupMetadata, GroupParticipant, WASocket } from '@whiskeysockets/baileys'
import { ApiError } from '../../errors.js'
import type { WhatsAppConnection } from '../connection.js'
import { isLidJid, isPhoneJid } from '../jids.js'
import { describeParticipantStatus, type ChangeAction } from './participant-results.js'
import type {
  GroupChanges,
  GroupInfo,
  GroupParticipantView,
  InviteLink,
  JoinRequestView,
  JoinResult,
  ParticipantAction,
  ParticipantResult,
  RequestAction,
} from './shapes.js'

/** `123:4@s.whatsapp.net` -> `123@s.whatsapp.net`: a person, not one of their devices. */
const personJid = (jid: string) => {
  const [user = '', server = ''] = jid.split('@')
  return `${user.split(':')[0]}@${server}`
}
const toIso = (seconds: number | undefined) => (seconds ? new Date(seconds * 1000).toISOString() : null)
const childOf = (parent: BinaryNode | undefined, tag: string) => childrenOf(parent, tag)[0]
const childrenOf = (parent: BinaryNode | undefined, tag: string): BinaryNode[] =>
  Array.isArray(parent?.content) ? parent.content.filter((child) => child.tag === tag) : []

/** A LID's phone-number JID, from what the session learnt (Baileys' LID mapping store). */
type LidResolver = (lid: string) => Promise<string | null>
const resolverOf = (socket: WASocket): LidResolver => async (lid) => {
  const pn = await socket.signalRepository.lidMapping.getPNForLID(lid).catch(() => null)
  return pn ? personJid(pn) : null
}

/** Both identities of a person from the JIDs WhatsApp gave, the phone number looked up when missing. */
async function identities(jids: Array<string | undefined | null>, resolve: LidResolver): Promise<{ jid: string; phoneJid: string | null; lid: string | null }> {
  const known = jids.filter((jid): jid is string => Boolean(jid)).map(personJid)
  const lid = known.find(isLidJid) ?? null
  const phoneJid = known.find(isPhoneJid) ?? (lid ? await resolve(lid) : null)
  return { jid: phoneJid ?? lid ?? known[0] ?? '', phoneJid, lid }
}

// ---- errors ---------------------------------------------------------------------------------

/** WhatsApp's status in a failed call (Baileys puts an iq error's code in Boom's `data`). */
function whatsappStatus(error: ApiError): number | undefined {
  const cause = error.cause as { data?: unknown; output?: { statusCode?: number } } | undefined
  if (typeof cause?.data === 'number') return cause.data
  const status = cause?.output?.statusCode
  return status && status !== 500 ? status : undefined
}

/** Runs a group call on the open socket; WhatsApp's 404 is a 404 here, its 401/403 say why. */
async function onSocket<T>(connection: WhatsAppConnection, what: string, group: string | undefined, call: (socket: WASocket) => Promise<T>): Promise<T> {
  try {
    return await connection.withSocket(what, call)
  } catch (error) {
    if (!(error instanceof ApiError) || error.errorCode !== 'WHATSAPP_ERROR') throw error
    const status = whatsappStatus(error)
    if (status === 404 && group) throw new ApiError('NOT_FOUND', `WhatsApp knows no group ${group} (it answered 404 to "${what}")`, { cause: error })
    if ((status === 401 || status === 403) && group) {
      throw new ApiError('WHATSAPP_ERROR', `${error.message} (${status}): this account is not in ${group}, or not one of its admins`, { cause: error })
    }
    throw error
  }
}

// ---- reading ---------------------------------------------------------------------------------

async function participantView(participant: GroupParticipant, resolve: LidResolver): Promise<GroupParticipantView> {
  const ids = await identities([participant.id, participant.phoneNumber, participant.lid], resolve)
  const admin = participant.admin ?? null
  return { ...ids, phone: ids.phoneJid ? ids.phoneJid.split('@')[0]! : null, admin, isAdmin: admin !== null, isSuperAdmin: admin === 'superadmin' }
}

async function infoOf(metadata: GroupMetadata, resolve: LidResolver): Promise<GroupInfo> {
  const participants: GroupParticipantView[] = []
  for (const participant of metadata.participants) participants.push(await participantView(participant, resolve))
  const owner = metadata.owner || metadata.ownerPn ? (await identities([metadata.owner, metadata.ownerPn], resolve)).jid : null
  return {
    jid: metadata.id,
    subject: metadata.subject ?? '',
    description: metadata.desc ?? null,
    owner,
    createdAt: toIso(metadata.creation),
    subjectChangedAt: toIso(metadata.subjectTime),
    announce: Boolean(metadata.announce),
    locked: Boolean(metadata.restrict),
    joinApproval: Boolean(metadata.joinApprovalMode),
    memberAddMode: metadata.memberAddMode ? 'all_members' : 'admins',
    addressingMode: metadata.addressingMode === 'lid' ? 'lid' : 'pn',
    size: metadata.size ?? metadata.participants.length,
    participants,
  }
}

/** One group with its participants: from the metadata cache, which WhatsApp's notifications keep fresh. */
export function groupInfo(connection: WhatsAppConnection, jid: string): Promise<GroupInfo> {
  return onSocket(connection, 'fetch the group', jid, async (socket) => {
    const metadata = await connection.groupMetadata.getOrFetch(jid, (group) => socket.groupMetadata(group))
    if (!metadata) throw new ApiError('NOT_FOUND', `WhatsApp knows no group ${jid}`)
    return infoOf(metadata, resolverOf(socket))
  })
}

// ---- participants ------------------------------------------------------------------------------

type Answered = { status: string; jid?: string | undefined; attrs?: Record<string, string> | undefined; node?: BinaryNode | undefined }

/**
 * Pairs each requested participant with WhatsApp's answer about them (it names them by phone
 * number or by LID, with the other beside), and says what the answer means.
 */
async function resultsFor(action: ChangeAction, requested: string[], answered: Answered[], resolve: LidResolver): Promise<ParticipantResult[]> {
  const unmatched = [...answered]
  const results: ParticipantResult[] = []
  for (const participant of requested) {
    const index = unmatched.findIndex((answer) => [answer.jid, answer.attrs?.phone_number, answer.attrs?.lid].some((jid) => jid && personJid(jid) === participant))
    const answer = index >= 0 ? unmatched.splice(index, 1)[0] : undefined
    const code = answer ? Number(answer.status) || 500 : 500
    const ids = await identities([participant, answer?.jid, answer?.attrs?.phone_number, answer?.attrs?.lid], resolve)
    const invite = childOf(answer?.node, 'add_request')?.attrs
    results.push({
      participant,
      ...ids,
      ...(answer ? describeParticipantStatus(action, code) : { ok: false, reason: 'no_answer', message: 'WhatsApp did not answer for this participant' }),
      code: answer ? code : 0,
      invite: invite?.code ? { code: invite.code, expiresAt: toIso(Number(invite.expiration) || undefined) } : null,
    })
  }
  return results
}

/** Add, remove, promote or demote: WhatsApp answers for each participant; the result says which and why. */
export function changeParticipants(connection: WhatsAppConnection, jid: string, action: ParticipantAction, participants: string[]): Promise<ParticipantResult[]> {
  const verb = { add: 'add participants to', remove: 'remove participants from', promote: 'promote participants of', demote: 'demote participants of' }[action]
  return onSocket(connection, `${verb} the group`, jid, async (socket) => {
    const answered = await socket.groupParticipantsUpdate(jid, participants, action)
    connection.forgetGroup(jid)
    return resultsFor(
      action,
      participants,
      answered.map((answer) => ({ status: answer.status, jid: answer.jid, attrs: answer.content?.attrs, node: answer.content })),
      resolverOf(socket),
    )
  })
}

// ---- creating, changing, leaving -------------------------------------------------------------

/**
 * Creates a group with this account as its superadmin. Baileys' groupCreate keeps only the
 * metadata, so the query is made here: WhatsApp's answer also says, per participant, who could not
 * be added and why (privacy, not on WhatsApp).
 */
export function createGroup(connection: WhatsAppConnection, subject: string, participants: string[]): Promise<{ group: GroupInfo; results: ParticipantResult[] }> {
  return onSocket(connection, 'create the group', undefined, async (socket) => {
    const answer: BinaryNode = await socket.query({
      tag: 'iq',
      attrs: { type: 'set', xmlns: 'w:g2', to: '@g.us' },
      content: [{ tag: 'create', attrs: { subject, key: randomBytes(8).toString('hex').toUpperCase() }, content: participants.map((jid) => ({ tag: 'participant', attrs: { jid } })) }],
    })
    const created = childOf(answer, 'group')
    const id = created?.attrs.id
    if (!id) throw new ApiError('WHATSAPP_ERROR', 'WhatsApp did not say which group it created')
    const jid = id.includes('@') ? id : `${id}@g.us`
    const answered = childrenOf(created, 'participant').map((node) => ({ status: node.attrs.error ?? '200', jid: node.attrs.jid, attrs: node.attrs, node }))
    const results = await resultsFor('add', participants, answered, resolverOf(socket))
    connection.forgetGroup(jid)
    const metadata = await connection.groupMetadata.getOrFetch(jid, (group) => socket.groupMetadata(group))
    if (!metadata) throw new ApiError('WHATSAPP_ERROR', `WhatsApp created ${jid} but did not describe it`)
    return { group: await infoOf(metadata, resolverOf(socket)), results }
  })
}

/** Subject, description and settings, one WhatsApp call each in this order; the group as it is afterwards. */
export async function updateGroup(connection: WhatsAppConnection, jid: string, changes: GroupChanges): Promise<GroupInfo> {
  const steps: Array<[string, (socket: WASocket) => Promise<unknown>]> = []
  if (changes.subject !== undefined) steps.push(['change the subject', (socket) => socket.groupUpdateSubject(jid, changes.subject!)])
  if (changes.description !== undefined) steps.push(['change the description', (socket) => socket.groupUpdateDescription(jid, changes.description || undefined)])
  if (changes.announce !== undefined) steps.push(['change who can send', (socket) => socket.groupSettingUpdate(jid, changes.announce ? 'announcement' : 'not_announcement')])
  if (changes.locked !== undefined) steps.push(['change who can edit the group info', (socket) => socket.groupSettingUpdate(jid, changes.locked ? 'locked' : 'unlocked')])
  if (changes.joinApproval !== undefined) steps.push(['change join approval', (socket) => socket.groupJoinApprovalMode(jid, changes.joinApproval ? 'on' : 'off')])
  if (changes.memberAddMode !== undefined) {
    steps.push(['change who can add participants', (socket) => socket.groupMemberAddMode(jid, changes.memberAddMode === 'all_members' ? 'all_member_add' : 'admin_add')])
  }
  try {
    for (const [what, step] of steps) await onSocket(connection, what, jid, step)
  } finally {
    // Also after a failed step: the ones before it took effect.
    connection.forgetGroup(jid)
  }
  return groupInfo(connection, jid)
}

/** Leaves the group. WhatsApp answers per group; a group this account is not in is a 404. */
export function leaveGroup(connection: WhatsAppConnection, jid: string): Promise<void> {
  return onSocket(connection, 'leave the group', jid, async (socket) => {
    const answer: BinaryNode = await socket.query({
      tag: 'iq',
      attrs: { type: 'set', xmlns: 'w:g2', to: '@g.us' },
      content: [{ tag: 'leave', attrs: {}, content: [{ tag: 'group', attrs: { id: jid } }] }],
    })
    connection.forgetGroup(jid)
    const refused = childrenOf(childOf(answer, 'leave'), 'group').find((group) => group.attrs.error)
    if (refused?.attrs.error === '404') throw new ApiError('NOT_FOUND', `This account is not in group ${jid}`)
    if (refused) throw new ApiError('WHATSAPP_ERROR', `WhatsApp could not leave the group: status ${refused.attrs.error}`)
  })
}

// ---- invite links and join requests -------------------------------------------------------------

const linkOf = (jid: string, code: string | undefined): InviteLink => {
  if (!code) throw new ApiError('WHATSAPP_ERROR', 'WhatsApp did not return an invite code')
  return { group_jid: jid, code, link: `https://chat.whatsapp.com/${code}` }
}

export function inviteLink(connection: WhatsAppConnection, jid: string): Promise<InviteLink> {
  return onSocket(connection, 'get the invite link', jid, async (socket) => linkOf(jid, await socket.groupInviteCode(jid)))
}

/** Revokes the current link (it stops working at once) and returns the new one. */
export function revokeInvite(connection: WhatsAppConnection, jid: string): Promise<InviteLink> {
  return onSocket(connection, 'revoke the invite link', jid, async (socket) => linkOf(jid, await socket.groupRevokeInvite(jid)))
}

/** Joins by invite code: joined, or waiting for the admins when the group approves joins. */
export async function joinByInvite(connection: WhatsAppConnection, code: string): Promise<JoinResult> {
  try {
    const jid = await connection.withSocket('join the group', (socket) => socket.groupAcceptInvite(code))
    if (!jid) return { status: 'pending_approval', group_jid: null }
    connection.forgetGroup(jid)
    return { status: 'joined', group_jid: jid }
  } catch (error) {
    const status = error instanceof ApiError && error.errorCode === 'WHATSAPP_ERROR' ? whatsappStatus(error) : undefined
    if (status === 404 || status === 410) throw new ApiError('NOT_FOUND', `No group has the invite code ${code}: it is wrong, or was revoked (WhatsApp answered ${status})`, { cause: error })
    if (status === 409) throw new ApiError('CONFLICT', 'This account is already in the group', { cause: error })
    throw error
  }
}

/**
 * People waiting to join, a page at a time in JID order: WhatsApp sends the whole list (a busy group
 * can have thousands), the caller gets at most `limit` after the JID `after`.
 */
export function joinRequests(connection: WhatsAppConnection, jid: string, page: { limit: number; after?: string | undefined }): Promise<JoinRequestView[]> {
  return onSocket(connection, 'list the join requests', jid, async (socket) => {
    const requests = (await socket.groupRequestParticipantsList(jid)) as Array<Record<string, string | undefined>>
    const resolve = resolverOf(socket)
    const views: JoinRequestView[] = []
    for (const request of requests) {
      const ids = await identities([request.jid, request.phone_number], resolve)
      views.push({ ...ids, method: request.request_method ?? null, requestedAt: toIso(Number(request.request_time) || undefined) })
    }
    views.sort((a, b) => (a.jid < b.jid ? -1 : a.jid > b.jid ? 1 : 0))
    return views.filter((view) => page.after === undefined || view.jid > page.after).slice(0, page.limit)
  })
}

export function answerJoinRequests(connection: WhatsAppConnection, jid: string, action: RequestAction, participants: string[]): Promise<ParticipantResult[]> {
  return onSocket(connection, `${action} join requests`, jid, async (socket) => {
    const answered = await socket.groupRequestParticipantsUpdate(jid, participants, action)
    connection.forgetGroup(jid)
    return resultsFor(action, participants, answered, resolverOf(socket))
  })
}
