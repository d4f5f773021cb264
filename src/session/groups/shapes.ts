// What the group operations answer, as zod schemas: the router declares them as outputs and the
// session code takes its types from them. Kept free of Baileys (imported lazily, see load-whatsapp.ts).
import { z } from 'zod'

export const adminRoleSchema = z.enum(['superadmin', 'admin']).nullable().describe('superadmin (the creator), admin, or null for a plain member')

export const groupParticipantSchema = z
  .object({
    jid: z.string().describe('The phone-number JID when known, else the LID'),
    phoneJid: z.string().nullable().describe('…@s.whatsapp.net, when WhatsApp or the session knows it'),
    lid: z.string().nullable().describe('…@lid, when known'),
    phone: z.string().nullable().describe('Digits of the phone number, when known'),
    admin: adminRoleSchema,
    isAdmin: z.boolean().describe('admin or superadmin'),
    isSuperAdmin: z.boolean(),
  })
  .meta({ id: 'GroupParticipant' })
export type GroupParticipantView = z.infer<typeof groupParticipantSchema>

export const groupInfoSchema = z
  .object({
    jid: z.string(),
    subject: z.string(),
    description: z.string().nullable(),
    owner: z.string().nullable().describe('Who created the group: phone-number JID when known, else the LID'),
    createdAt: z.string().nullable().describe('ISO 8601 UTC'),
    subjectChangedAt: z.string().nullable().describe('ISO 8601 UTC'),
    announce: z.boolean().describe('Only admins can send messages'),
    locked: z.boolean().describe('Only admins can change the subject, description and picture'),
    joinApproval: z.boolean().describe('People joining by invite link wait for an admin to approve them'),
    memberAddMode: z.enum(['admins', 'all_members']).describe('Who can add participants'),
    addressingMode: z.enum(['lid', 'pn']).describe('How WhatsApp addresses members in this group'),
    size: z.number().int(),
    participants: z.array(groupParticipantSchema).describe('Everyone in the group (WhatsApp caps a group at 1024)'),
  })
  .meta({ id: 'GroupInfo' })
export type GroupInfo = z.infer<typeof groupInfoSchema>

export const participantResultSchema = z
  .object({
    participant: z.string().describe('The participant as given in the request, as a JID'),
    jid: z.string().describe('The phone-number JID when known, else what WhatsApp answered'),
    phoneJid: z.string().nullable(),
    lid: z.string().nullable(),
    ok: z.boolean().describe('WhatsApp made the change for this participant'),
    code: z.number().int().describe('WhatsApp\'s status for this participant: 200, or 403, 404, 408, 409...'),
    reason: z
      .string()
      .nullable()
      .describe('null when ok; else privacy, not_on_whatsapp, not_a_participant, already_participant, already_admin, not_admin, recently_left, not_allowed, not_authorized, no_request, ...'),
    message: z.string().describe('What happened, in a sentence'),
    invite: z
      .object({ code: z.string(), expiresAt: z.string().nullable() })
      .nullable()
      .describe('For a privacy refusal: the code of a private invite WhatsApp made for them'),
  })
  .meta({ id: 'ParticipantResult' })
export type ParticipantResult = z.infer<typeof participantResultSchema>

export const participantResultsSchema = z.object({
  group_jid: z.string(),
  results: z.array(participantResultSchema).describe('One per requested participant, in the order given'),
})

export const groupCreatedSchema = z
  .object({
    group: groupInfoSchema,
    results: z.array(participantResultSchema).describe('Each requested participant: added, or why WhatsApp refused'),
  })
  .meta({ id: 'GroupCreated' })

export const inviteLinkSchema = z
  .object({
    group_jid: z.string(),
    code: z.string(),
    link: z.string().describe('https://chat.whatsapp.com/<code>'),
  })
  .meta({ id: 'GroupInvite' })
export type InviteLink = z.infer<typeof inviteLinkSchema>

export const joinResultSchema = z
  .object({
    status: z.enum(['joined', 'pending_approval']).describe('pending_approval: the group\'s admins must let this account in'),
    group_jid: z.string().nullable().describe('The group joined (null while approval is pending)'),
  })
  .meta({ id: 'GroupJoined' })
export type JoinResult = z.infer<typeof joinResultSchema>

export const joinRequestSchema = z
  .object({
    jid: z.string().describe('The phone-number JID when known, else the LID'),
    phoneJid: z.string().nullable(),
    lid: z.string().nullable(),
    method: z.string().nullable().describe('How they asked: invite_link, non_admin_add, linked_group_join'),
    requestedAt: z.string().nullable().describe('ISO 8601 UTC'),
  })
  .meta({ id: 'GroupJoinRequest' })
export type JoinRequestView = z.infer<typeof joinRequestSchema>

export const leftGroupSchema = z.object({ group_jid: z.string(), left: z.literal(true) })

/** What can change in a group's info and settings (PATCH /api/groups/{group_jid}). */
export interface GroupChanges {
  subject?: string | undefined
  /** null or "" removes it */
  description?: string | null | undefined
  announce?: boolean | undefined
  locked?: boolean | undefined
  joinApproval?: boolean | undefined
  memberAddMode?: 'admins' | 'all_members' | undefined
}

export type ParticipantAction = 'add' | 'remove' | 'promote' | 'demote'
export type RequestAction = 'approve' | 'reject'
