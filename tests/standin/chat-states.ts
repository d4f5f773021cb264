// The chat states (typing, recording, paused) a device sends. The stand-in answers nothing to a
// `<chatstate>`, so it keeps no record of one; this reads them from its stanza log instead: pass
// `recorder.log` as the stand-in's `log` option.
export type ChatState = {
	/** the chat it was sent to */
	to: string
	/** 'composing' or 'paused' as on the wire */
	state: string
	/** 'audio' when `composing` means recording audio */
	media?: string
}

const CHATSTATE = /<- <chatstate ([^>]*)>\s*<(\w+)\s*([^>]*?)\/?>/

const attr = (attrs: string, name: string) => new RegExp(`\\b${name}='([^']*)'`).exec(attrs)?.[1]

export function chatStateRecorder() {
	const seen: ChatState[] = []
	return {
		log(line: string) {
			const match = CHATSTATE.exec(line)
			if (!match) return
			const media = attr(match[3] ?? '', 'media')
			seen.push({ to: attr(match[1] ?? '', 'to') ?? '', state: match[2] ?? '', ...(media && { media }) })
		},
		states(): ChatState[] {
			return [...seen]
		}
	}
}
