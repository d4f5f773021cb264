// Small helpers for building and reading WhatsApp binary nodes (the XMPP-like stanzas).
import { S_WHATSAPP_NET, getBinaryNodeChildren, type BinaryNode } from '@whiskeysockets/baileys'

/** The server's own address, as it appears in `from` attributes ("s.whatsapp.net"). */
export const SERVER = S_WHATSAPP_NET.slice(1)

export const unixNow = () => Math.floor(Date.now() / 1000)

export function node(tag: string, attrs: Record<string, string | undefined> = {}, content?: BinaryNode['content']): BinaryNode {
	const defined: Record<string, string> = {}
	for (const [name, value] of Object.entries(attrs)) if (value !== undefined) defined[name] = value
	return content === undefined ? { tag, attrs: defined } : { tag, attrs: defined, content }
}

/** The answer to a client query: same id, `type=result`. */
/** Who answers a query: the entity it was sent to (a group, ...), or the server itself. */
const answerer = (request: BinaryNode) => (!request.attrs.to || request.attrs.to === S_WHATSAPP_NET ? SERVER : request.attrs.to)

export function iqResult(request: BinaryNode, content?: BinaryNode[]): BinaryNode {
	return node('iq', { from: answerer(request), type: 'result', id: request.attrs.id }, content)
}

export function iqError(request: BinaryNode, code: number, text: string): BinaryNode {
	return node('iq', { from: answerer(request), type: 'error', id: request.attrs.id }, [
		node('error', { code: String(code), text })
	])
}

export function children(parent: BinaryNode | undefined): BinaryNode[] {
	return Array.isArray(parent?.content) ? parent.content : []
}

export function firstChild(parent: BinaryNode | undefined): BinaryNode | undefined {
	return children(parent)[0]
}

/** Every descendant with the given tag, depth first (e.g. all `<enc>` under `<participants>`). */
export function descendants(parent: BinaryNode, tag: string): BinaryNode[] {
	return children(parent).flatMap(child => (child.tag === tag ? [child] : descendants(child, tag)))
}

export function bytesOf(target: BinaryNode | undefined): Buffer | undefined {
	const content = target?.content
	if (content instanceof Uint8Array) return Buffer.from(content)
	if (typeof content === 'string') return Buffer.from(content, 'utf8')
	return undefined
}

export function textOf(target: BinaryNode | undefined): string | undefined {
	return bytesOf(target)?.toString('utf8')
}

export function childrenNamed(parent: BinaryNode | undefined, tag: string): BinaryNode[] {
	return getBinaryNodeChildren(parent, tag)
}

/** A big-endian unsigned integer of `length` bytes, the way Signal key ids travel in nodes. */
export function bigEndian(value: number, length: number): Buffer {
	const bytes = Buffer.alloc(length)
	bytes.writeUIntBE(value, 0, length)
	return bytes
}
