// Contact cards. WhatsApp shows a vCard 3.0 and makes its `waid` numbers tappable ("Message",
// "Add contact"); callers give a name and phones, or a vCard of their own.

export interface ContactCard {
  name: string
  phones: string[]
  organization?: string | undefined
  email?: string | undefined
}

/** vCard text values escape backslashes, commas, semicolons and line breaks (RFC 2426). */
const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/,/g, '\\,').replace(/;/g, '\\;').replace(/\r?\n/g, '\\n')

/** The vCard for a card; each phone (digits) gets the `waid` WhatsApp links to the account. */
export function buildVcard(card: ContactCard): string {
  const lines = ['BEGIN:VCARD', 'VERSION:3.0', `FN:${escape(card.name)}`, `N:;${escape(card.name)};;;`]
  if (card.organization) lines.push(`ORG:${escape(card.organization)};`)
  for (const digits of card.phones) lines.push(`TEL;type=CELL;type=VOICE;waid=${digits}:+${digits}`)
  if (card.email) lines.push(`EMAIL;type=INTERNET:${escape(card.email)}`)
  lines.push('END:VCARD')
  return lines.join('\n')
}

/** The display name of a vCard given as text: its FN line, unescaped. */
export function nameInVcard(vcard: string): string | undefined {
  const line = /^FN(?:;[^:]*)?:(.*)$/im.exec(vcard)?.[1]
  return line?.replace(/\\([,;\\])/g, '$1').replace(/\\n/gi, ' ').trim() || undefined
}
