// Profile queries: a user's profile picture (`w:profile:picture`) and business profile (`w:biz`), as
// Baileys' profilePictureUrl() and getBusinessProfile() ask for them. Each query is counted, so a test
// can tell whether the service asked WhatsApp or answered from its cache.
// Requests: <iq xmlns="w:profile:picture" target=JID><picture type="preview" query="url"/></iq>
//           <iq xmlns="w:biz"><business_profile v="244"><profile jid=JID/></business_profile></iq>
import { getBinaryNodeChild, type BinaryNode } from '@whiskeysockets/baileys'
import type { Directory } from './directory.js'
import { children, iqError, iqResult, node } from './nodes.js'

export type ProfileQueryKind = 'picture' | 'business'

export class ProfileServer {
	private readonly log: { kind: ProfileQueryKind; jid: string }[] = []

	constructor(private readonly directory: Directory) {}

	/** Answers a `w:profile:picture` or `w:biz` query. */
	answer(request: BinaryNode): BinaryNode {
		return request.attrs.xmlns === 'w:biz' ? this.business(request) : this.picture(request)
	}

	/** How many queries of a kind the device made, for one JID or all. */
	queries(kind: ProfileQueryKind, jid?: string): number {
		return this.log.filter(query => query.kind === kind && (!jid || query.jid === jid)).length
	}

	private contactOf(jid: string) {
		const known = this.directory.resolve(jid)
		return known?.kind === 'contact' ? known.contact : undefined
	}

	/** A picture URL for contacts that have one; 404 item-not-found otherwise, as WhatsApp answers. */
	private picture(request: BinaryNode): BinaryNode {
		const jid = request.attrs.target ?? ''
		this.log.push({ kind: 'picture', jid })
		const type = getBinaryNodeChild(request, 'picture')?.attrs.type ?? 'preview'
		const url = this.contactOf(jid)?.pictureUrl
		if (!url) return iqError(request, 404, 'item-not-found')
		return iqResult(request, [node('picture', { url, id: '1700000000', type })])
	}

	/** A `<profile>` per business account asked about; none for anyone else. */
	private business(request: BinaryNode): BinaryNode {
		const asked = children(getBinaryNodeChild(request, 'business_profile')).filter(child => child.tag === 'profile')
		const profiles = asked.flatMap(({ attrs: { jid = '' } }) => {
			this.log.push({ kind: 'business', jid })
			const business = this.contactOf(jid)?.business
			if (!business) return []
			return [
				node('profile', { jid }, [
					...(business.description ? [node('description', {}, Buffer.from(business.description))] : []),
					...(business.category ? [node('categories', {}, [node('category', { id: '1' }, Buffer.from(business.category))])] : [])
				])
			]
		})
		return iqResult(request, [node('business_profile', { v: '244' }, profiles)])
	}
}
