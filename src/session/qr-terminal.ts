// The pairing QR in the terminal, for the person who just ran `npm start` and has no browser open.
import QRCode from 'qrcode'

export async function printQrInTerminal(qr: string, session: string): Promise<void> {
  const art = await QRCode.toString(qr, { type: 'terminal', small: true })
  const where = session === 'default' ? 'GET /api/qr and /qr' : `GET /api/sessions/${session}/qr and /qr?session=${session}`
  const whose = session === 'default' ? '' : ` for session "${session}"`
  process.stdout.write(`\nScan this QR code${whose} in WhatsApp > Linked devices (it rotates; also at ${where}):\n${art}\n`)
}
