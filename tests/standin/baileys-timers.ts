// Baileys leaves timers behind when a socket ends: the 30 s guard around every pre-key upload
// (Socket/socket.js, uploadPreKeys) is never cleared, and `end()` removes the listeners that would
// reject queries still in flight, so their 60 s timeouts stay armed. They can do nothing once the
// socket is closed, but they keep a test process alive for up to a minute after its last test.
//
// Importing this module records the timers Baileys arms (the creating call stack names the package);
// `releaseBaileysTimers()` unrefs them, so the process can exit when the tests are done. Call it after
// each test (e.g. `afterEach(releaseBaileysTimers)`), once the test's sockets are closed. TEST-ONLY.
const baileysTimers = new Set<NodeJS.Timeout>()

for (const name of ['setTimeout', 'setInterval'] as const) {
	const original = globalThis[name] as (...args: unknown[]) => NodeJS.Timeout
	const tracked = (...args: unknown[]) => {
		const timer = original(...args)
		if (new Error().stack?.includes('@whiskeysockets/baileys')) baileysTimers.add(timer)
		return timer
	}
	// keep the original's extra properties (util.promisify.custom)
	Object.assign(globalThis, { [name]: Object.assign(tracked, original) })
}

/** Let the process exit despite timers left by ended Baileys sockets. Live sockets keep working. */
export function releaseBaileysTimers() {
	for (const timer of baileysTimers) timer.unref()
	baileysTimers.clear()
}
