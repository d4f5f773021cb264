// What kind of JID a string is, told by its server part, and the phone number it carries.
//
// Baileys-free on purpose: routers and the modules they import (contact-details.ts, group-admin.ts,
// outgoing/recipient.ts) load before Baileys does, which only loads after listen() in a chunk of its
// own (load-whatsapp.ts; tests/build.test.ts checks the bundle). Importing Baileys' isLidUser here
// would pull it onto the router's import path. These are the same tests Baileys makes.

/** A person's LID (123456789@lid): an identity that is not their phone number. */
export const isLidJid = (jid: string) => jid.endsWith('@lid')

/** A person's phone-number JID (573001234567@s.whatsapp.net). */
export const isPhoneJid = (jid: string) => jid.endsWith('@s.whatsapp.net')

/** A group (120363000000@g.us). */
export const isGroupJid = (jid: string) => jid.endsWith('@g.us')

/** The number before the `@`; null for a LID, whose digits are not a phone number. */
export const phoneOf = (jid: string) => (isLidJid(jid) ? null : (jid.split('@')[0] ?? null))
