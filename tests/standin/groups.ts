// How WhatsApp describes a group (xmlns "w:g2"): in one group's metadata (Baileys asks before every
// group send, to learn the members to share its sender key with), in the list of groups the account
// is in, and inside `create` notifications. group-server.ts answers the queries and the changes.
import { getBinaryNodeChild, type BinaryNode } from '@whiskeysockets/baileys'
import type { Directory, Group, GroupMember } from './directory.js'
import { node } from './nodes.js'

export function memberJids(directory: Directory, member: GroupMember) {
	return member.contact === 'self'
		? { lid: directory.accountLidJid, pn: directory.accountPnJid }
		: { lid: member.contact.lidJid, pn: member.contact.pnJid }
}

/** A `<group>` as WhatsApp describes a LID-addressed group: members by LID, with their phone numbers. */
export function groupNode(directory: Directory, group: Group): BinaryNode {
	const creator = group.members.find(member => member.admin === 'superadmin') ?? group.members[0]
	const creatorJids = creator && memberJids(directory, creator)
	return node(
		'group',
		{
			id: group.jid.split('@')[0],
			subject: group.subject,
			s_t: String(group.subjectTime),
			s_o: creatorJids?.lid,
			s_o_pn: creatorJids?.pn,
			creation: String(group.creation),
			creator: creatorJids?.lid,
			creator_pn: creatorJids?.pn,
			addressing_mode: 'lid',
			size: String(group.members.length)
		},
		[
			...(group.desc !== undefined
				? [
						node('description', { id: group.descId ?? `${group.creation}`, t: String(group.creation), participant: creatorJids?.lid }, [
							node('body', {}, Buffer.from(group.desc))
						])
					]
				: []),
			...(group.announce ? [node('announcement')] : []),
			...(group.locked ? [node('locked')] : []),
			...(group.joinApproval ? [node('membership_approval_mode', {}, [node('group_join', { state: 'on' })])] : []),
			node('member_add_mode', {}, group.memberAddMode),
			...group.members.map(member => {
				const { lid, pn } = memberJids(directory, member)
				return node('participant', { jid: lid, phone_number: member.hidePhone ? undefined : pn, type: member.admin })
			})
		]
	)
}

/** What a w:g2 query asks: one group's metadata (`<query>`), the joined groups (`<participating>`), or a change. */
export type GroupQueryKind = 'metadata' | 'participating' | 'change'

export function groupQueryKind(request: BinaryNode): GroupQueryKind {
	if (getBinaryNodeChild(request, 'participating')) return 'participating'
	if (getBinaryNodeChild(request, 'query')) return 'metadata'
	return 'change'
}
