// The process floor for start-up and memory: a bare Node `http` server answering GET /health and
// GET /api/status with the JSON the service answers before it is paired. PORT from the environment.
import { createServer } from 'node:http'

const status = { connected: false, loggedIn: false, device: '', pushName: '', platform: '', state: 'connecting', lastDisconnect: null }
const server = createServer((req, res) => {
  const path = req.url?.split('?')[0]
  const body = path === '/health' ? JSON.stringify({ status: 'ok' }) : path === '/api/status' ? JSON.stringify(status) : undefined
  if (body === undefined) return res.writeHead(404).end()
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
})
server.keepAliveTimeout = 5_000
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1')
const stop = () => {
  server.close(() => process.exit(0))
  server.closeAllConnections()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
