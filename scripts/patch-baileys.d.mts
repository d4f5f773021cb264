// Types of scripts/patch-baileys.mjs (plain JS, so that install can run it without tsx), for the tests.
/** The installed lib/Utils/crypto.js of @whiskeysockets/baileys. */
export declare const BAILEYS_CRYPTO_FILE: string
/** The installed lib/Utils/event-buffer.js of @whiskeysockets/baileys. */
export declare const BAILEYS_EVENT_BUFFER_FILE: string
/** The installed lib/Socket/messages-send.js of @whiskeysockets/baileys. */
export declare const BAILEYS_MESSAGES_SEND_FILE: string
/** The installed lib/Socket/messages-recv.js of @whiskeysockets/baileys. */
export declare const BAILEYS_MESSAGES_RECV_FILE: string
/** 'original' (as shipped, to be patched) or 'patched'; throws if Curve.verify is neither. */
export declare function inspectBaileysCrypto(file?: string): 'original' | 'patched'
/** Patches Curve.verify if the file is Baileys as shipped; throws if it is neither shipped nor patched. */
export declare function patchBaileysCrypto(file?: string): 'patched' | 'already patched'
/** 'original' (as shipped) or 'patched'; throws if handleMessage's delivery receipt is neither. */
export declare function inspectBaileysReceipts(file?: string): 'original' | 'patched'
/** Makes handleMessage's delivery receipt wait for `config.storeIncomingMessage`; throws on code it does not know. */
export declare function patchBaileysReceipts(file?: string): 'patched' | 'already patched'
/** 'original', 'earlier' (an earlier version of the patch) or 'patched'; throws if processNode's queueing of live message stanzas is none of them, or half patched. */
export declare function inspectBaileysLiveQueue(file?: string): 'original' | 'earlier' | 'patched'
/** Routes live message stanzas through Baileys' queue, asking config.yieldToEventLoop after each; throws on code it does not know. */
export declare function patchBaileysLiveQueue(file?: string): 'patched' | 'already patched'
/** Applies every patch to the installed Baileys, by patch name; throws on code it does not know. */
export declare function patchBaileys(): Record<string, 'patched' | 'already patched'>
/** Every patch, in the order they are applied: the installed file, its text as shipped and as patched (and as earlier versions of the patch left it). */
export declare const BAILEYS_PATCHES: ReadonlyArray<{ name: string; file: string; original: string; patched: string; earlier?: readonly string[] }>
