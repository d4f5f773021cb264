// An in-memory Signal key store (Baileys' `SignalKeyStore`), for the stand-in's simulated devices and
// for tests that drive a bare Baileys socket. `serialize`/`deserialize` go through BufferJSON, the way
// a database-backed store would, so a test can "restart the process" from the serialized form.
import { BufferJSON, proto, type SignalDataSet, type SignalDataTypeMap, type SignalKeyStore } from '@whiskeysockets/baileys'

export class MemoryKeyStore implements SignalKeyStore {
	private readonly rows = new Map<string, unknown>()

	get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]): { [id: string]: SignalDataTypeMap[T] } {
		const found: { [id: string]: SignalDataTypeMap[T] } = {}
		for (const id of ids) {
			const value = this.rows.get(`${type}/${id}`)
			if (value !== undefined) found[id] = value as SignalDataTypeMap[T]
		}
		return found
	}

	set(data: SignalDataSet): void {
		for (const [type, entries] of Object.entries(data)) {
			for (const [id, value] of Object.entries(entries ?? {})) {
				// a null value means "delete", per Baileys' contract
				if (value === null || value === undefined) this.rows.delete(`${type}/${id}`)
				else this.rows.set(`${type}/${id}`, value)
			}
		}
	}

	clear(): void {
		this.rows.clear()
	}

	/** how many rows of a type are stored (e.g. 'pre-key'), for assertions */
	count(type: keyof SignalDataTypeMap): number {
		return [...this.rows.keys()].filter(key => key.startsWith(`${type}/`)).length
	}

	serialize(): string {
		return JSON.stringify(Object.fromEntries(this.rows), BufferJSON.replacer)
	}

	static deserialize(serialized: string): MemoryKeyStore {
		const store = new MemoryKeyStore()
		const rows = JSON.parse(serialized, BufferJSON.reviver) as Record<string, unknown>
		for (const [key, value] of Object.entries(rows)) {
			// app-state keys are protobuf objects: revive them as such, like Baileys' own file store does
			store.rows.set(
				key,
				key.startsWith('app-state-sync-key/')
					? proto.Message.AppStateSyncKeyData.fromObject(value as Record<string, unknown>)
					: value
			)
		}
		return store
	}
}
