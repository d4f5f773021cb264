// Types of scripts/build.mjs (plain JS, so that `npm start` can build without tsx), for the tests.
/** Where the bundle goes: <package root>/dist. */
export declare const outdir: string
/** Bundles src/server.ts into dist/server.mjs (and its chunks), replacing what was there. */
export declare function buildServer(): Promise<void>
