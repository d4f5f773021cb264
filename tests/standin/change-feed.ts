// "Something changed, look again": how the stand-in's waitForX() helpers wait for a condition without
// polling. State owners call notify(); waiters re-check their condition on each notification.
type Waiter = { recheck(): void; abort(reason: Error): void }

export class ChangeFeed {
	private readonly waiters = new Set<Waiter>()

	notify() {
		for (const waiter of [...this.waiters]) waiter.recheck()
	}

	/** Resolve with `check()`'s first non-undefined value, now or after a later notify(). */
	waitFor<T>(what: string, timeoutMs: number, check: () => T | undefined): Promise<T> {
		const ready = check()
		if (ready !== undefined) return Promise.resolve(ready)
		return new Promise<T>((resolve, reject) => {
			const waiter: Waiter = {
				recheck: () => {
					const value = check()
					if (value === undefined) return
					done()
					resolve(value)
				},
				abort: reason => {
					done()
					reject(reason)
				}
			}
			const timer = setTimeout(
				() => waiter.abort(new Error(`stand-in: timed out after ${timeoutMs} ms waiting for ${what}`)),
				timeoutMs
			)
			const done = () => {
				clearTimeout(timer)
				this.waiters.delete(waiter)
			}
			this.waiters.add(waiter)
		})
	}

	/** Fail every pending wait: nothing will change any more. */
	close() {
		for (const waiter of [...this.waiters]) waiter.abort(new Error('stand-in: closed'))
	}
}
