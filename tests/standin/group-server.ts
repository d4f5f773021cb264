// The server side of groups (xmlns "w:g2"), as WhatsApp answers it: a group's metadata and the
// joined groups (groups.ts draws them), and every change: create, leave, subject, description,
// settings, participants (add, remove, promote, demote, with a result per participant: refused for
// privacy (403), not on WhatsApp (404), already in (409)...), the invite link, joining by code, and
// join requests. Each change is told to the account's devices as a `w:gp2` notification, as WhatsApp
// does, also when a test plays a phone changing the group (`fromPhone`).
import { getBinaryNodeChild, type BinaryNode } from '@whiskeysockets/baileys'
import {
	newInviteCode,
	type Directory,
	type Group,
	type GroupMember,
	type StandInContact
} from './directory.js'
import { groupNode, groupQueryKind, memberJids } from './groups.js'
import { children, childrenNamed, firstChild, iqError, iqResult, node, textOf, unixNow } from './nodes.js'

/** A w:g2 request the device made, as the server received it. */
export type GroupRequest = {
	/** `get` or `set` */
	type: string
	/** the group's JID, or `@g.us` for create, leave and joining by code */
	to: string
	/** the first child's tag: query, participating, create, add, subject, invite, ... */
	action: string
	stanza: BinaryNode
}

/** How the stand-in reaches the device: deliver a stanza, and wait until the device has handled one. */
export type GroupServerLink = {
	deliver(stanza: BinaryNode): void
	handled(notificationId: string, timeoutMs: number): Promise<unknown>
}

/** Who made a change: the account's own phone, or another member's. */
export type Actor = 'self' | StandInContact

/** What a phone (the account's or a member's) can change in a group. */
export type PhoneChange =
	| { subject: string }
	| { description: string | null }
	| { setting: 'announcement' | 'not_announcement' | 'locked' | 'unlocked' }
	| { participants: 'add' | 'remove' | 'promote' | 'demote'; who: StandInContact[] }

/** One participant's part in a change: who (unknown to WhatsApp: nobody), as the request named them, and any refusal. */
type Outcome = { contact?: StandInContact | 'self'; jid: string; error?: number; inviteCode?: string }

const PARTICIPANT_ACTIONS = new Set(['add', 'remove', 'promote', 'demote'])
const SETTINGS = new Set(['announcement', 'not_announcement', 'locked', 'unlocked'])
const DEFAULT_TIMEOUT_MS = 10_000

export class GroupServer {
	private readonly log: GroupRequest[] = []
	/** phones whose privacy settings let only their contacts add them to groups */
	private readonly addRefusedBy = new Set<string>()
	/** invite codes that were revoked: joining with one is refused with 410 (gone) */
	private readonly revokedCodes = new Set<string>()
	private nextGroup = 1
	private nextNotification = 1

	constructor(
		private readonly directory: Directory,
		private readonly link: GroupServerLink
	) {}

	// ---- scenario API ----------------------------------------------------------------------------

	/** The w:g2 requests the device made, oldest first; with `action`, only those. */
	requests(action?: string): GroupRequest[] {
		return this.log.filter(request => !action || request.action === action)
	}

	/** These people's privacy settings refuse being added to groups (WhatsApp answers 403 per participant). */
	refuseAddsFrom(...phones: string[]) {
		for (const phone of phones) this.addRefusedBy.add(phone)
	}

	/** The group's current invite code, as its admins see it. */
	inviteCode(jid: string): string {
		return this.require(jid).inviteCode
	}

	/** The group as the server holds it now. */
	group(jid: string): Group {
		return this.require(jid)
	}

	/** Someone asks to join a group that needs approval (what an admin's phone then lists). */
	requestToJoin(jid: string, contact: StandInContact) {
		const group = this.require(jid)
		group.requests.push({ contact, at: unixNow(), method: 'invite_link' })
	}

	/**
	 * A phone changes the group: the server applies it and notifies the device (`w:gp2`). Resolves
	 * once the device has handled the notification (acknowledged it).
	 */
	async fromPhone(actor: Actor, jid: string, change: PhoneChange, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
		const group = this.require(jid)
		let child: BinaryNode
		if ('subject' in change) child = this.setSubject(group, actor, change.subject)
		else if ('description' in change) child = this.setDescription(group, change.description)
		else if ('setting' in change) child = this.applySetting(group, change.setting)
		else {
			const outcomes = change.who.map(contact => this.changeParticipant(group, change.participants, contact, contact.pnJid))
			child = node(change.participants, {}, outcomes.filter(outcome => !outcome.error).map(outcome => this.participantNode(outcome, 'lid')))
		}
		await this.link.handled(this.notify(group, actor, child), timeoutMs)
	}

	// ---- the device's requests -------------------------------------------------------------------

	answer(request: BinaryNode): BinaryNode {
		const action = firstChild(request)?.tag ?? ''
		this.log.push({ type: request.attrs.type ?? '', to: request.attrs.to ?? '', action, stanza: request })
		switch (groupQueryKind(request)) {
			case 'participating':
				return iqResult(request, [node('groups', {}, this.directory.groups().map(group => groupNode(this.directory, group)))])
			case 'metadata': {
				const group = this.directory.group(request.attrs.to ?? '')
				if (!group) return iqError(request, 404, 'item-not-found')
				if (!this.memberOf(group, 'self')) return iqError(request, 401, 'not-authorized')
				return iqResult(request, [groupNode(this.directory, group)])
			}
			case 'change':
				return request.attrs.to === '@g.us' ? this.answerServerWide(request, action) : this.answerForGroup(request, action)
		}
	}

	/** Requests sent to `@g.us`: create a group, leave groups, join by invite code. */
	private answerServerWide(request: BinaryNode, action: string): BinaryNode {
		const child = firstChild(request)!
		switch (action) {
			case 'create':
				return this.create(request, child)
			case 'leave': {
				const left: BinaryNode[] = []
				for (const { attrs } of childrenNamed(child, 'group')) {
					const group = this.directory.group(attrs.id?.includes('@') ? attrs.id : `${attrs.id}@g.us`)
					if (!group || !this.memberOf(group, 'self')) {
						left.push(node('group', { id: attrs.id, error: '404' }))
						continue
					}
					const self = this.memberOf(group, 'self')!
					group.members = group.members.filter(member => member !== self)
					this.notify(group, 'self', node('remove', {}, [this.participantNode({ contact: 'self', jid: this.directory.accountLidJid }, 'lid')]))
					left.push(node('group', { id: group.jid }))
				}
				return iqResult(request, [node('leave', {}, left)])
			}
			case 'invite': {
				const code = child.attrs.code ?? ''
				if (this.revokedCodes.has(code)) return iqError(request, 410, 'gone')
				const group = this.directory.allGroups().find(candidate => candidate.inviteCode === code)
				if (!group) return iqError(request, 404, 'item-not-found')
				if (request.attrs.type === 'get') return iqResult(request, [groupNode(this.directory, group)])
				if (this.memberOf(group, 'self')) return iqError(request, 409, 'conflict')
				// the group's admins must let the account in: it is not a member yet
				if (group.joinApproval) return iqResult(request, [node('membership_approval_request', { jid: group.jid })])
				group.members.push({ contact: 'self' })
				this.notify(group, 'self', node('add', {}, [this.participantNode({ contact: 'self', jid: this.directory.accountLidJid }, 'lid')]))
				return iqResult(request, [node('group', { jid: group.jid })])
			}
			default:
				return iqError(request, 400, 'bad-request')
		}
	}

	private create(request: BinaryNode, create: BinaryNode): BinaryNode {
		const subject = create.attrs.subject
		if (!subject) return iqError(request, 400, 'bad-request')
		const now = unixNow()
		const group: Group = {
			jid: `1203639${String(this.nextGroup++).padStart(11, '0')}@g.us`,
			subject,
			subjectTime: now,
			creation: now,
			members: [{ contact: 'self', admin: 'superadmin' }],
			announce: false,
			locked: false,
			joinApproval: false,
			memberAddMode: 'admin_add',
			inviteCode: newInviteCode(),
			requests: []
		}
		this.directory.addGroup(group)
		const outcomes = childrenNamed(create, 'participant').map(({ attrs }) => this.changeParticipant(group, 'add', undefined, attrs.jid ?? ''))
		const described = groupNode(this.directory, group)
		// refused people are listed too, with their error (and for privacy, the code of a private invite)
		described.content = [...children(described), ...outcomes.filter(outcome => outcome.error).map(outcome => this.participantNode(outcome))]
		this.notify(group, 'self', node('create', {}, [groupNode(this.directory, group)]))
		return iqResult(request, [described])
	}

	/** Requests sent to one group. */
	private answerForGroup(request: BinaryNode, action: string): BinaryNode {
		const group = this.directory.group(request.attrs.to ?? '')
		if (!group) return iqError(request, 404, 'item-not-found')
		const self = this.memberOf(group, 'self')
		if (!self) return iqError(request, 401, 'not-authorized')
		const admin = !!self.admin
		const child = firstChild(request)!
		if (PARTICIPANT_ACTIONS.has(action)) {
			if (!admin) return iqError(request, 401, 'not-authorized')
			const outcomes = childrenNamed(child, 'participant').map(({ attrs }) => this.changeParticipant(group, action, undefined, attrs.jid ?? ''))
			const done = outcomes.filter(outcome => !outcome.error)
			if (done.length) this.notify(group, 'self', node(action, {}, done.map(outcome => this.participantNode(outcome, 'lid'))))
			return iqResult(request, [node(action, {}, outcomes.map(outcome => this.participantNode(outcome)))])
		}
		if (SETTINGS.has(action)) {
			if (!admin) return iqError(request, 401, 'not-authorized')
			this.notify(group, 'self', this.applySetting(group, action as 'announcement'))
			return iqResult(request)
		}
		switch (action) {
			case 'subject': {
				if (group.locked && !admin) return iqError(request, 401, 'not-authorized')
				const subject = textOf(child) ?? ''
				if (!subject) return iqError(request, 400, 'bad-request')
				this.notify(group, 'self', this.setSubject(group, 'self', subject))
				return iqResult(request)
			}
			case 'description': {
				if (group.locked && !admin) return iqError(request, 401, 'not-authorized')
				// a change made on a stale description is refused: someone changed it meanwhile
				if ((child.attrs.prev ?? undefined) !== group.descId) return iqError(request, 409, 'conflict')
				const text = child.attrs.delete === 'true' ? null : (textOf(getBinaryNodeChild(child, 'body')) ?? '')
				this.notify(group, 'self', this.setDescription(group, text))
				return iqResult(request)
			}
			case 'membership_approval_mode': {
				if (!admin) return iqError(request, 401, 'not-authorized')
				group.joinApproval = getBinaryNodeChild(child, 'group_join')?.attrs.state === 'on'
				this.notify(group, 'self', child)
				return iqResult(request)
			}
			case 'member_add_mode': {
				if (!admin) return iqError(request, 401, 'not-authorized')
				const mode = textOf(child)
				if (mode !== 'admin_add' && mode !== 'all_member_add') return iqError(request, 400, 'bad-request')
				group.memberAddMode = mode
				this.notify(group, 'self', node('member_add_mode', {}, mode))
				return iqResult(request)
			}
			case 'invite': {
				if (!admin) return iqError(request, 401, 'not-authorized')
				if (request.attrs.type === 'set') {
					this.revokedCodes.add(group.inviteCode)
					group.inviteCode = newInviteCode()
					this.notify(group, 'self', node('invite', { code: group.inviteCode }))
				}
				return iqResult(request, [node('invite', { code: group.inviteCode })])
			}
			case 'membership_approval_requests': {
				if (!admin) return iqError(request, 401, 'not-authorized')
				return iqResult(request, [
					node(
						'membership_approval_requests',
						{},
						group.requests.map(({ contact, at, method }) =>
							node('membership_approval_request', { jid: contact.lidJid, phone_number: contact.pnJid, request_method: method, request_time: String(at) })
						)
					)
				])
			}
			case 'membership_requests_action':
				if (!admin) return iqError(request, 401, 'not-authorized')
				return this.answerJoinRequests(request, group, child)
			default:
				return iqError(request, 400, 'bad-request')
		}
	}

	/** Approve or reject people waiting to join: a result per participant (404 for one who is not waiting). */
	private answerJoinRequests(request: BinaryNode, group: Group, action: BinaryNode): BinaryNode {
		const verdict = firstChild(action)
		if (!verdict || (verdict.tag !== 'approve' && verdict.tag !== 'reject')) return iqError(request, 400, 'bad-request')
		const answered: BinaryNode[] = []
		const approved: Outcome[] = []
		for (const { attrs } of childrenNamed(verdict, 'participant')) {
			const jid = attrs.jid ?? ''
			const known = this.directory.resolve(jid)
			const waiting = known?.kind === 'contact' ? group.requests.find(entry => entry.contact === known.contact) : undefined
			if (!waiting || known?.kind !== 'contact') {
				answered.push(node('participant', { jid, error: '404' }))
				continue
			}
			group.requests = group.requests.filter(entry => entry !== waiting)
			if (verdict.tag === 'approve') {
				group.members.push({ contact: known.contact })
				approved.push({ contact: known.contact, jid })
			}
			answered.push(node('participant', { jid }))
		}
		if (approved.length) this.notify(group, 'self', node('add', {}, approved.map(outcome => this.participantNode(outcome, 'lid'))))
		return iqResult(request, [node('membership_requests_action', {}, [node(verdict.tag, {}, answered)])])
	}

	// ---- changes ---------------------------------------------------------------------------------

	/**
	 * One participant change, with WhatsApp's per-participant refusals: 404 not on WhatsApp or not a
	 * member, 403 privacy (with a private invite code), 409 already in / already admin / not an admin,
	 * 406 the creator cannot be removed or demoted.
	 */
	private changeParticipant(group: Group, action: string, given: StandInContact | undefined, jid: string): Outcome {
		const known = given ? { kind: 'contact' as const, contact: given } : this.directory.resolve(jid)
		const contact: StandInContact | 'self' | undefined = known?.kind === 'account' ? 'self' : known?.contact
		if (!contact || (contact !== 'self' && !this.directory.isRegistered(contact.phone))) return { jid, error: 404 }
		const member = this.memberOf(group, contact)
		switch (action) {
			case 'add':
				if (member) return { contact, jid, error: 409 }
				if (contact !== 'self' && this.addRefusedBy.has(contact.phone)) return { contact, jid, error: 403, inviteCode: newInviteCode() }
				group.members.push({ contact })
				return { contact, jid }
			case 'remove':
				if (!member) return { contact, jid, error: 404 }
				if (member.admin === 'superadmin') return { contact, jid, error: 406 }
				group.members = group.members.filter(other => other !== member)
				return { contact, jid }
			case 'promote':
				if (!member) return { contact, jid, error: 404 }
				if (member.admin) return { contact, jid, error: 409 }
				member.admin = 'admin'
				return { contact, jid }
			default: // demote
				if (!member) return { contact, jid, error: 404 }
				if (member.admin === 'superadmin') return { contact, jid, error: 406 }
				if (!member.admin) return { contact, jid, error: 409 }
				member.admin = undefined
				return { contact, jid }
		}
	}

	private setSubject(group: Group, actor: Actor, subject: string): BinaryNode {
		group.subject = subject
		group.subjectTime = unixNow()
		const owner = actor === 'self' ? this.directory.accountLidJid : actor.lidJid
		return node('subject', { subject, s_o: owner, s_t: String(group.subjectTime) })
	}

	private setDescription(group: Group, text: string | null): BinaryNode {
		group.desc = text ?? undefined
		group.descId = text === null ? undefined : `desc-${this.nextNotification}-${unixNow()}`
		return text === null
			? node('description', { id: `desc-deleted-${unixNow()}`, delete: 'true' })
			: node('description', { id: group.descId }, [node('body', {}, Buffer.from(text))])
	}

	private applySetting(group: Group, setting: 'announcement' | 'not_announcement' | 'locked' | 'unlocked'): BinaryNode {
		if (setting === 'announcement' || setting === 'not_announcement') group.announce = setting === 'announcement'
		else group.locked = setting === 'locked'
		return node(setting)
	}

	/** Tells the account's devices that the group changed (`w:gp2`); returns the notification's id. */
	private notify(group: Group, actor: Actor, change: BinaryNode): string {
		const id = `gp2-${this.nextNotification++}`
		const by = actor === 'self' ? { lid: this.directory.accountLidJid, pn: this.directory.accountPnJid } : { lid: actor.lidJid, pn: actor.pnJid }
		this.link.deliver(
			node('notification', { from: group.jid, type: 'w:gp2', id, participant: by.lid, participant_pn: by.pn, addressing_mode: 'lid', t: String(unixNow()) }, [change])
		)
		return id
	}

	/**
	 * A `<participant>` of an answer (named as the request named them, with the other identity
	 * beside) or of a notification (by LID with the phone number, as in LID-addressed groups).
	 */
	private participantNode(outcome: Outcome, form: 'as-requested' | 'lid' = 'as-requested'): BinaryNode {
		const jids = outcome.contact ? memberJids(this.directory, { contact: outcome.contact }) : undefined
		const requestedLid = form === 'lid' || outcome.jid.endsWith('@lid')
		return node(
			'participant',
			{
				jid: jids ? (requestedLid ? jids.lid : jids.pn) : outcome.jid,
				...(jids && (requestedLid ? { phone_number: jids.pn } : { lid: jids.lid })),
				error: outcome.error === undefined ? undefined : String(outcome.error)
			},
			outcome.inviteCode ? [node('add_request', { code: outcome.inviteCode, expiration: String(unixNow() + 3 * 86_400) })] : undefined
		)
	}

	private memberOf(group: Group, who: StandInContact | 'self'): GroupMember | undefined {
		return group.members.find(member => member.contact === who)
	}

	private require(jid: string): Group {
		const group = this.directory.group(jid)
		if (!group) throw new Error(`the stand-in has no group ${jid}`)
		return group
	}
}
