// WhatsApp answers a participant change (add, remove, promote, demote, approving or rejecting join
// requests) with a status per participant. This names each status for the caller: a code they can
// branch on and a sentence they can show, per action, since the same code means different things
// (404 on an add is "not on WhatsApp", on a remove "not in the group").
import type { ParticipantAction, RequestAction } from './shapes.js'

export type ChangeAction = ParticipantAction | RequestAction

const DONE: Record<ChangeAction, string> = {
  add: 'added to the group',
  remove: 'removed from the group',
  promote: 'made an admin',
  demote: 'no longer an admin',
  approve: 'approved: now in the group',
  reject: 'rejected',
}

type Refusal = { reason: string; message: string }

const BY_CODE: Record<number, Refusal> = {
  400: { reason: 'bad_request', message: 'WhatsApp did not accept the request for this participant' },
  401: { reason: 'not_authorized', message: 'this account may not do this: it must be an admin of the group' },
  403: { reason: 'forbidden', message: 'WhatsApp refused this change for this participant' },
  406: { reason: 'not_allowed', message: 'WhatsApp does not allow this for them (the group\'s creator cannot be removed or demoted)' },
  408: { reason: 'recently_left', message: 'they left the group recently and cannot be added back yet' },
  409: { reason: 'conflict', message: 'nothing to change for them' },
  500: { reason: 'whatsapp_error', message: 'WhatsApp failed to make the change for them; try again later' },
}

const BY_ACTION: Partial<Record<ChangeAction, Record<number, Refusal>>> = {
  add: {
    403: { reason: 'privacy', message: 'their privacy settings do not let this account add them to groups; send them the invite link instead' },
    404: { reason: 'not_on_whatsapp', message: 'this number is not on WhatsApp' },
    409: { reason: 'already_participant', message: 'they are already in the group' },
  },
  remove: { 404: { reason: 'not_a_participant', message: 'they are not in the group' } },
  promote: {
    404: { reason: 'not_a_participant', message: 'they are not in the group' },
    409: { reason: 'already_admin', message: 'they are already an admin' },
  },
  demote: {
    404: { reason: 'not_a_participant', message: 'they are not in the group' },
    409: { reason: 'not_admin', message: 'they are not an admin' },
  },
  approve: { 404: { reason: 'no_request', message: 'they have not asked to join (or were already answered)' } },
  reject: { 404: { reason: 'no_request', message: 'they have not asked to join (or were already answered)' } },
}

/** What a participant's status means for this action: ok, or the reason and a sentence. */
export function describeParticipantStatus(action: ChangeAction, code: number): { ok: boolean; reason: string | null; message: string } {
  if (code >= 200 && code < 300) return { ok: true, reason: null, message: DONE[action] }
  const refusal = BY_ACTION[action]?.[code] ?? BY_CODE[code] ?? { reason: 'refused', message: `WhatsApp refused this change for them (status ${code})` }
  return { ok: false, ...refusal }
}
