// Groups: the contract's GET /api/groups, and managing the groups this account runs (issue 17):
// one group with its participants, create, change info and settings, participants (a result per
// participant), the invite link, join by code, leave, join requests. Sending to a group is
// POST /api/send/group (messages.ts). Every path is also at /api/sessions/{session}/groups/...
//
// `{group_jid}` in a path: 120363000000@g.us as it is, URL-encoded (%40), or just the number.
import { z } from 'zod'
import { validationError } from '../errors.js'
import {
  answerJoinRequests,
  changeParticipants,
  createGroup,
  groupInfo,
  inviteLink,
  joinByInvite,
  joinRequests,
  leaveGroup,
  revokeInvite,
  updateGroup,
} from '../session/groups/group-admin.js'
import {
  groupCreatedSchema,
  groupInfoSchema,
  inviteLinkSchema,
  joinRequestSchema,
  joinResultSchema,
  leftGroupSchema,
  participantResultsSchema,
  type ParticipantAction,
  type RequestAction,
} from '../session/groups/shapes.js'
import { groupSchema } from '../session/shapes.js'
import { router, sessionProcedure, withSession } from '../trpc.js'
import { jsonBoolean, personJidOf } from './inputs.js'

const GROUP_JID_RULE = 'expected a group JID such as 120363000000@g.us (or its number alone)'

/** A group JID from a path or a body: `@` may arrive URL-encoded, and the `@g.us` may be left off. */
const groupJidParam = z
  .string()
  .describe('Group JID, e.g. 120363000000@g.us (URL-encoded or not), or just 120363000000')
  .transform((raw, ctx) => {
    let text = raw.trim()
    try {
      text = decodeURIComponent(text)
    } catch {
      // not encoded: taken as it is
    }
    if (/^\d[\d-]{4,40}$/.test(text)) text = `${text}@g.us`
    if (/^\d[\d-]{4,40}@g\.us$/.test(text)) return text
    ctx.addIssue({ code: 'custom', message: GROUP_JID_RULE })
    return z.NEVER
  })

/** A person to add, remove, promote...: a phone number (normalised as everywhere) or a person's JID. */
const participantSchema = z
  .string()
  .describe('A phone number (573001234567, +57 300 123 4567) or a person JID (…@s.whatsapp.net, …@lid)')
  .transform((raw, ctx) => {
    const jid = personJidOf(raw)
    if (jid) return jid
    ctx.addIssue({ code: 'custom', message: 'expected a phone number in international format or a person JID (…@s.whatsapp.net or …@lid)' })
    return z.NEVER
  })

const MAX_PARTICIPANTS = 50
const MAX_REQUESTS_PAGE = 1000

const participantsSchema = z
  .array(participantSchema)
  .min(1, 'name at least one participant')
  .max(MAX_PARTICIPANTS, `at most ${MAX_PARTICIPANTS} participants per call`)
  .transform((list) => [...new Set(list)])
  .describe(`Phone numbers or person JIDs, 1 to ${MAX_PARTICIPANTS}`)

const subjectSchema = z.string().trim().min(1, 'the subject is empty').max(100, 'WhatsApp allows at most 100 characters')

/** An invite code, or the whole link it is part of. */
const inviteCodeSchema = z
  .string()
  .describe('The invite code, or the link https://chat.whatsapp.com/<code>')
  .transform((raw, ctx) => {
    const match = /^(?:(?:https?:\/\/)?chat\.whatsapp\.com\/(?:invite\/)?)?([A-Za-z0-9]{6,64})\/?$/.exec(raw.trim())
    if (match) return match[1]!
    ctx.addIssue({ code: 'custom', message: 'expected an invite code or a https://chat.whatsapp.com/<code> link' })
    return z.NEVER
  })

const tags = ['Groups']

const participantProcedure = (action: ParticipantAction, summary: string) =>
  sessionProcedure
    .meta({ openapi: { method: 'POST', path: `/api/groups/{group_jid}/participants/${action}`, summary, description: 'WhatsApp answers for each participant: the result says who was changed and, for the others, why not (privacy, not on WhatsApp, already in, ...).', tags } })
    .input(withSession({ group_jid: groupJidParam, participants: participantsSchema }))
    .output(participantResultsSchema)
    .mutation(async ({ ctx, input }) => ({
      group_jid: input.group_jid,
      results: await changeParticipants(await ctx.session.connection(), input.group_jid, action, input.participants),
    }))

const requestProcedure = (action: RequestAction, summary: string) =>
  sessionProcedure
    .meta({ openapi: { method: 'POST', path: `/api/groups/{group_jid}/requests/${action}`, summary, tags } })
    .input(withSession({ group_jid: groupJidParam, participants: participantsSchema }))
    .output(participantResultsSchema)
    .mutation(async ({ ctx, input }) => ({
      group_jid: input.group_jid,
      results: await answerJoinRequests(await ctx.session.connection(), input.group_jid, action, input.participants),
    }))

export const groupsRouter = router({
  list: sessionProcedure
    .meta({ openapi: { method: 'GET', path: '/api/groups', summary: 'All joined groups', tags } })
    .input(withSession())
    .output(z.array(groupSchema))
    .query(async ({ ctx }) => (await ctx.session.connection()).groups()),

  get: sessionProcedure
    .meta({ openapi: { method: 'GET', path: '/api/groups/{group_jid}', summary: 'One group with its participants and settings', tags } })
    .input(withSession({ group_jid: groupJidParam }))
    .output(groupInfoSchema)
    .query(async ({ ctx, input }) => groupInfo(await ctx.session.connection(), input.group_jid)),

  create: sessionProcedure
    .meta({ openapi: { method: 'POST', path: '/api/groups', summary: 'Create a group', description: 'This account becomes its superadmin. `results` says, per participant, who was added and why the others were not.', tags } })
    .input(withSession({ subject: subjectSchema, participants: participantsSchema }))
    .output(groupCreatedSchema)
    .mutation(async ({ ctx, input }) => createGroup(await ctx.session.connection(), input.subject, input.participants)),

  update: sessionProcedure
    .meta({ openapi: { method: 'PATCH', path: '/api/groups/{group_jid}', summary: 'Change the subject, description or settings', description: 'Only the fields given change; answers the group as it is afterwards.', tags } })
    .input(
      withSession({
        group_jid: groupJidParam,
        subject: subjectSchema.optional(),
        description: z.string().max(2048, 'WhatsApp allows at most 2048 characters').nullable().optional().describe('null or "" removes it'),
        announce: jsonBoolean().optional().describe('Only admins can send messages'),
        locked: jsonBoolean().optional().describe('Only admins can edit the subject, description and picture'),
        join_approval: jsonBoolean().optional().describe('Joining by invite link needs an admin\'s approval'),
        member_add_mode: z.enum(['admins', 'all_members']).optional().describe('Who can add participants'),
      }),
    )
    .output(groupInfoSchema)
    .mutation(async ({ ctx, input }) => {
      const changes = {
        subject: input.subject,
        description: input.description,
        announce: input.announce,
        locked: input.locked,
        joinApproval: input.join_approval,
        memberAddMode: input.member_add_mode,
      }
      if (Object.values(changes).every((value) => value === undefined)) {
        throw validationError([{ path: '(body)', message: 'nothing to change: give subject, description, announce, locked, join_approval or member_add_mode' }])
      }
      return updateGroup(await ctx.session.connection(), input.group_jid, changes)
    }),

  addParticipants: participantProcedure('add', 'Add participants'),
  removeParticipants: participantProcedure('remove', 'Remove participants'),
  promoteParticipants: participantProcedure('promote', 'Make participants admins'),
  demoteParticipants: participantProcedure('demote', 'Take admin rights away from participants'),

  inviteLink: sessionProcedure
    .meta({ openapi: { method: 'GET', path: '/api/groups/{group_jid}/invite', summary: 'The group\'s invite link', tags } })
    .input(withSession({ group_jid: groupJidParam }))
    .output(inviteLinkSchema)
    .query(async ({ ctx, input }) => inviteLink(await ctx.session.connection(), input.group_jid)),

  revokeInvite: sessionProcedure
    .meta({ openapi: { method: 'POST', path: '/api/groups/{group_jid}/invite/revoke', summary: 'Revoke the invite link and make a new one', tags } })
    .input(withSession({ group_jid: groupJidParam }))
    .output(inviteLinkSchema)
    .mutation(async ({ ctx, input }) => revokeInvite(await ctx.session.connection(), input.group_jid)),

  join: sessionProcedure
    .meta({ openapi: { method: 'POST', path: '/api/groups/join', summary: 'Join a group by its invite code or link', tags } })
    .input(withSession({ code: inviteCodeSchema }))
    .output(joinResultSchema)
    .mutation(async ({ ctx, input }) => joinByInvite(await ctx.session.connection(), input.code)),

  leave: sessionProcedure
    .meta({ openapi: { method: 'POST', path: '/api/groups/{group_jid}/leave', summary: 'Leave the group', tags } })
    .input(withSession({ group_jid: groupJidParam }))
    .output(leftGroupSchema)
    .mutation(async ({ ctx, input }) => {
      await leaveGroup(await ctx.session.connection(), input.group_jid)
      return { group_jid: input.group_jid, left: true as const }
    }),

  joinRequests: sessionProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/groups/{group_jid}/requests',
        summary: 'People waiting for approval to join',
        description: `In JID order, at most \`limit\` (1-${MAX_REQUESTS_PAGE}) per call; for the next page pass \`after\` = the last \`jid\` of this one. A page shorter than \`limit\` is the last.`,
        tags,
      },
    })
    .input(
      withSession({
        group_jid: groupJidParam,
        limit: z.coerce.number().int().min(1).max(MAX_REQUESTS_PAGE).default(MAX_REQUESTS_PAGE).describe(`How many at most (1-${MAX_REQUESTS_PAGE})`),
        after: z.string().min(1).max(200).optional().describe('The last jid of the previous page'),
      }),
    )
    .output(z.array(joinRequestSchema))
    .query(async ({ ctx, input }) => joinRequests(await ctx.session.connection(), input.group_jid, { limit: input.limit, after: input.after })),

  approveRequests: requestProcedure('approve', 'Let people waiting to join in'),
  rejectRequests: requestProcedure('reject', 'Turn down people waiting to join'),
})
