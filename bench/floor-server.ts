// A floor server in its own process, for the HTTP section's out-of-process measurements:
//   node --import tsx bench/floor-server.ts express|http
// PORT from the environment; STATUS_JSON is the body GET /api/status answers (the service's own).
import { startBareExpress, startBareHttp } from './floors.js'

const kind = process.argv[2]
const status = JSON.parse(process.env.STATUS_JSON ?? '{}') as unknown
const port = Number(process.env.PORT ?? 0)
const floor = kind === 'express' ? await startBareExpress(() => status, port) : kind === 'http' ? await startBareHttp(() => status, port) : undefined
if (!floor) {
  console.error('usage: floor-server.ts express|http')
  process.exit(2)
}
const stop = () => void floor.close().then(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
