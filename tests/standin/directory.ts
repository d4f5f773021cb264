// Who exists in the stand-in's little WhatsApp: the account under test (its phone and linked devices),
// the contacts tests talk to, the numbers registered on WhatsApp, and the groups the account is in.
import { jidDecode } from '@whiskeysockets/baileys'
import { SignalPeer } from './signal-peer.js'
import type { LinkedDevice } from './pairing.js'

export type StandInContact = {
	phone: string
	lid: string
	pushName?: string
	/** `<phone>@s.whatsapp.net` */
	pnJid: string
	/** `<lid>@lid` */
	lidJid: string
	/** the contact's phone (device 0), which encrypts and decrypts for it */
	peer: SignalPeer
	/** its profile picture (w:profile:picture answers it); none when undefined */
	pictureUrl?: string
	/** a WhatsApp Business account: w:biz answers this profile */
	business?: BusinessProfile
}

export type BusinessProfile = { description?: string; category?: string }

export type ContactSpec = { phone: string; lid?: string; pushName?: string; pictureUrl?: string; business?: BusinessProfile }

export type GroupParticipantSpec = (StandInContact | ContactSpec) & {
	admin?: 'admin' | 'superadmin'
	/** WhatsApp lists them by LID only, without their phone number (as when members' numbers are hidden) */
	hidePhone?: boolean
}

export type GroupSpec = {
	/** `<id>@g.us` */
	jid: string
	subject: string
	desc?: string
	/** only admins may send (announcement) */
	announce?: boolean
	/** only admins may edit the group's info (locked) */
	locked?: boolean
	/** joining by invite link needs an admin's approval */
	joinApproval?: boolean
	/** epoch seconds */
	creation?: number
	participants: GroupParticipantSpec[]
	/** the account itself is a member unless this is false */
	includeSelf?: boolean
	/** the account's role in the group */
	selfAdmin?: 'admin' | 'superadmin'
}

export type GroupMember = { contact: StandInContact | 'self'; admin?: 'admin' | 'superadmin'; hidePhone?: boolean }

/** Someone asking to join a group whose joins need approval. */
export type JoinRequest = { contact: StandInContact; at: number; method: 'invite_link' | 'non_admin_add' }

export type Group = {
	jid: string
	subject: string
	/** epoch seconds of the last subject change */
	subjectTime: number
	desc?: string
	/** the description's id: a change must name it as `prev`, or WhatsApp refuses it (409) */
	descId?: string
	creation: number
	members: GroupMember[]
	announce: boolean
	locked: boolean
	joinApproval: boolean
	memberAddMode: 'admin_add' | 'all_member_add'
	/** the code of the group's invite link (chat.whatsapp.com/<code>) */
	inviteCode: string
	/** people waiting for an admin to let them in */
	requests: JoinRequest[]
}

let inviteCounter = 0
/** A fresh invite code, unique in the process (WhatsApp's are 22 characters of base62). */
export const newInviteCode = () => `Inv${String(++inviteCounter).padStart(4, '0')}${Math.random().toString(36).slice(2, 12)}`.padEnd(22, 'x')

/** A user as the server resolves a JID: the account itself, a known contact, or nobody it knows. */
export type KnownUser = { kind: 'account' } | { kind: 'contact'; contact: StandInContact }

/** A made-up but stable LID for a phone number the test did not give one for. */
export const defaultLidFor = (phone: string) => `7${phone}`

export class Directory {
	readonly accountPnJid: string
	readonly accountLidJid: string
	/** the account's primary phone, device 0: it shares app-state keys and history with linked devices */
	readonly phonePeer: SignalPeer
	readonly linkedDevices = new Map<string, LinkedDevice>() // by noise key (base64)

	private readonly contactsByUser = new Map<string, StandInContact>() // by phone and by lid
	private registeredExtra = new Set<string>()
	private groupsByJid = new Map<string, Group>()

	constructor(
		readonly phone: string,
		readonly lid: string
	) {
		this.accountPnJid = `${phone}@s.whatsapp.net`
		this.accountLidJid = `${lid}@lid`
		this.phonePeer = new SignalPeer(this.accountLidJid)
	}

	contact(spec: ContactSpec | StandInContact): StandInContact {
		const existing = this.contactsByUser.get(spec.phone)
		if (existing) {
			if (spec.pushName) existing.pushName = spec.pushName
			if (spec.pictureUrl) existing.pictureUrl = spec.pictureUrl
			if (spec.business) existing.business = spec.business
			return existing
		}
		const lid = spec.lid ?? defaultLidFor(spec.phone)
		const lidJid = `${lid}@lid`
		const contact: StandInContact = {
			phone: spec.phone,
			lid,
			pushName: spec.pushName,
			pictureUrl: spec.pictureUrl,
			business: spec.business,
			pnJid: `${spec.phone}@s.whatsapp.net`,
			lidJid,
			peer: new SignalPeer(lidJid)
		}
		this.contactsByUser.set(contact.phone, contact)
		this.contactsByUser.set(contact.lid, contact)
		return contact
	}

	contacts(): StandInContact[] {
		return [...new Set(this.contactsByUser.values())]
	}

	/** Resolve a PN or LID JID (any device) to the account or a contact. */
	resolve(jid: string): KnownUser | undefined {
		const user = jidDecode(jid)?.user
		if (!user) return undefined
		if (user === this.phone || user === this.lid) return { kind: 'account' }
		const contact = this.contactsByUser.get(user)
		if (contact) return { kind: 'contact', contact }
		// a number registered with setRegistered() becomes a contact the first time someone looks it up
		if (this.registeredExtra.has(user) && jid.endsWith('@s.whatsapp.net')) {
			return { kind: 'contact', contact: this.contact({ phone: user }) }
		}
		return undefined
	}

	setRegistered(phones: string[]) {
		this.registeredExtra = new Set(phones.map(phone => phone.replace(/\D/g, '')))
	}

	/** On WhatsApp: the account, every contact, and the numbers given to `setRegistered`. */
	isRegistered(phone: string): boolean {
		return phone === this.phone || this.registeredExtra.has(phone) || this.contactsByUser.has(phone)
	}

	/** The device ids of a user: a contact has its phone only; the account has its phone and linked devices. */
	deviceIds(user: KnownUser): number[] {
		if (user.kind === 'contact') return [0]
		return [0, ...[...this.linkedDevices.values()].map(device => device.deviceId)]
	}

	/** How the simulated phones address a linked device in their Signal stores: `<lid>:<device>@lid`. */
	deviceAddress(device: LinkedDevice): string {
		return `${this.lid}:${device.deviceId}@lid`
	}

	linkedDeviceById(deviceId: number): LinkedDevice | undefined {
		return [...this.linkedDevices.values()].find(device => device.deviceId === deviceId)
	}

	setGroups(specs: GroupSpec[]) {
		this.groupsByJid = new Map(
			specs.map(spec => {
				const members: GroupMember[] = spec.participants.map(participant => ({
					contact: this.contact(participant),
					admin: participant.admin,
					hidePhone: 'hidePhone' in participant ? participant.hidePhone : undefined
				}))
				if (spec.includeSelf !== false) members.unshift({ contact: 'self', admin: spec.selfAdmin })
				const creation = spec.creation ?? 1_700_000_000
				const group: Group = {
					jid: spec.jid,
					subject: spec.subject,
					subjectTime: creation,
					desc: spec.desc,
					descId: spec.desc === undefined ? undefined : `desc-${creation}`,
					creation,
					members,
					announce: spec.announce ?? false,
					locked: spec.locked ?? false,
					joinApproval: spec.joinApproval ?? false,
					memberAddMode: 'admin_add',
					inviteCode: newInviteCode(),
					requests: []
				}
				return [spec.jid, group]
			})
		)
	}

	group(jid: string): Group | undefined {
		return this.groupsByJid.get(jid)
	}

	/** A group created on the server (by the device, or by a test playing someone else). */
	addGroup(group: Group) {
		this.groupsByJid.set(group.jid, group)
	}

	/** Every group the server knows, the account a member or not (invite codes reach any of them). */
	allGroups(): Group[] {
		return [...this.groupsByJid.values()]
	}

	/** Groups the account is a member of. */
	groups(): Group[] {
		return [...this.groupsByJid.values()].filter(group => group.members.some(member => member.contact === 'self'))
	}
}
