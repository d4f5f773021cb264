// Types of scripts/patch-baileys.mjs (plain JS, so that install can run it without tsx), for the tests.
/** The installed lib/Utils/crypto.js of @whiskeysockets/baileys. */
export declare const BAILEYS_CRYPTO_FILE: string
/** 'original' (as shipped, to be patched) or 'patched'; throws if Curve.verify is neither. */
export declare function inspectBaileysCrypto(file?: string): 'original' | 'patched'
/** Patches Curve.verify if the file is Baileys as shipped; throws if it is neither shipped nor patched. */
export declare function patchBaileysCrypto(file?: string): 'patched' | 'already patched'
