// Baileys leaves timers behind when a socket ends: the 30 s guard around every pre-key upload
// (Socket/socket.js, uploadPreKeys) is never cleared, and `end()` removes the listeners that would
// reject queries still in flight, so their 60 s timeouts stay armed. They can do nothing once the
// socket is closed, but they keep a test process alive for up to a minute after its last test.
//
// Importing this module records the timers Baileys arms (the creating call stack names the package);
// `releaseBaileysTimers()` unrefs them, so the process can exit when the tests are done. Call it after
// each test (e.g. `afterEach(releaseBaileysTimers)`), once the test's sockets are closed. TEST-ONLY.
const baileysTimers = new Set<NodeJS.Timeout>()

/** Whether the caller is Baileys: raw call sites, since a formatted stack (with source maps) is slow. */
function calledFromBaileys(): boolean {
	const { prepareStackTrace, stackTraceLimit } = Error
	Error.prepareStackTrace = (_error, frames) => frames
	Error.stackTraceLimit = 12
	const holder: { stack?: NodeJS.CallSite[] } = {}
	Error.captureStackTrace(holder, calledFromBaileys)
	const frames = holder.stack ?? []
	Error.prepareStackTrace = prepareStackTrace
	Error.stackTraceLimit = stackTraceLimit
	return frames.some(frame => frame.getFileName()?.includes('@whiskeysockets/baileys'))
}

for (const name of ['setTimeout', 'setInterval'] as const) {
	const original = globalThis[name] as (callback: (...args: unknown[]) => void, ...rest: unknown[]) => NodeJS.Timeout
	const tracked = (callback: (...args: unknown[]) => void, ...rest: unknown[]) => {
		if (typeof callback !== 'function' || !calledFromBaileys()) return original(callback, ...rest)
		// a timeout that fired is forgotten, so a long test does not pile up dead timers
		const timer: NodeJS.Timeout = original(function (this: unknown, ...args: unknown[]) {
			if (name === 'setTimeout') baileysTimers.delete(timer)
			return callback.apply(this, args)
		}, ...rest)
		baileysTimers.add(timer)
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
