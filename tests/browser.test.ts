// The pages a person uses, in a real browser (Debian's Chromium through playwright-core): the pairing
// page /qr against the service talking to the WhatsApp stand-in through real Baileys, and the
// interactive docs /docs. Screenshots of both are written to tests/.artifacts/screenshots/.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { chromiumMissing, decodeQrDataUrl, launchChromium, SCREENSHOT_DIR, screenshotPath } from './support/browser.js'
import { captureLog } from './support/log-capture.js'
import { decodeQrPng } from './support/qr.js'
import { startTestService, type TestService } from './support/service.js'
import { OWN, startWithStandIn, waitUntil, type Status, type WhatsAppHarness } from './support/whatsapp.js'
import { parseQr, releaseBaileysTimers, startStandInFleet, type StandInFleet } from './standin/index.js'

const KEY = 'secret'
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 }
const skip = chromiumMissing

after(() => {
  if (!skip) console.log(`screenshots: ${SCREENSHOT_DIR}`)
})

/** GET /api/qr as raw text: the code the session shows now, or undefined when there is none. */
async function currentQr(url: string, key?: string): Promise<string | undefined> {
  const res = await fetch(`${url}/api/qr`, { headers: key ? { 'X-API-Key': key } : {} })
  return res.status === 200 ? res.text() : undefined
}

async function statusWithKey(url: string, key: string): Promise<Status> {
  return (await (await fetch(`${url}/api/status`, { headers: { 'X-API-Key': key } })).json()) as Status
}

/** The code in the page's QR <img> (its data: URL), or undefined when it shows none. */
async function qrInImage(page: Page): Promise<string | undefined> {
  const src = await page.locator('#qr').getAttribute('src')
  return src ? decodeQrDataUrl(src) : undefined
}

/** The code in what Chromium painted for the QR <img>, read back from a screenshot of it. */
async function qrAsPainted(page: Page): Promise<string | undefined> {
  return decodeQrPng(await page.locator('#qr').screenshot())
}

/** Waits until the page's QR image and GET /api/qr agree, and returns that code. */
function pageShowsCurrentQr(page: Page, url: string, key?: string): Promise<string> {
  return waitUntil('the page to show the current QR', async () => {
    const shown = await qrInImage(page)
    return shown !== undefined && shown === (await currentQr(url, key)) ? shown : undefined
  })
}

async function waitForText(locator: Locator, expected: string | RegExp, timeoutMs = 10_000): Promise<string> {
  let seen: string | null = null
  try {
    return await waitUntil(
      String(expected),
      async () => {
        seen = await locator.textContent()
        return seen !== null && (typeof expected === 'string' ? seen === expected : expected.test(seen)) ? seen : undefined
      },
      timeoutMs,
      50,
    )
  } catch (error) {
    throw new Error(`${(error as Error).message}; the page says ${JSON.stringify(seen)}`)
  }
}

const storedKey = (page: Page) => page.evaluate("sessionStorage.getItem('wsgo.apiKey')")

describe('the pairing page /qr', { skip }, () => {
  let h: WhatsAppHarness
  let browser: Browser
  let page: Page
  const errors: string[] = []

  before(async () => {
    h = await startWithStandIn()
    await h.waitForStatus((s) => s.state === 'qr')
    browser = await launchChromium()
    page = await browser.newPage(PHONE)
    page.setDefaultTimeout(10_000)
    page.on('pageerror', (error) => errors.push(error.message))
  })
  after(async () => {
    await browser?.close()
    await h?.close()
  })

  test('shows the current QR as an image that decodes to the session\'s code', async () => {
    const res = await page.goto(`${h.url}/qr`)
    assert.equal(res?.status(), 200)
    assert.match(res?.headers()['content-security-policy'] ?? '', /script-src 'sha256-/)
    const code = await pageShowsCurrentQr(page, h.url)
    assert.match(code, /^https:\/\/wa\.me\/settings\/linked_devices#/)
    assert.equal(await qrAsPainted(page), code, 'what Chromium painted decodes to the same code')
    assert.match((await page.locator('#qr').getAttribute('alt')) ?? '', /QR code/)
    assert.equal(await page.locator('#status').getAttribute('data-state'), 'qr')
    assert.equal(await page.locator('#status-text').textContent(), 'Waiting for a scan')
    assert.equal(await page.locator('#key-form').isVisible(), false, 'no API key: no key form')
    assert.ok(!(await page.locator('body').innerText()).includes(code), 'the code is an image, never text')
    assert.equal(await page.title(), 'Link WhatsApp · wsgo')
    await page.screenshot({ path: screenshotPath('qr-waiting-phone'), fullPage: true })
    await page.setViewportSize({ width: 1280, height: 860 })
    await page.screenshot({ path: screenshotPath('qr-waiting-desktop') })
    await page.setViewportSize(PHONE.viewport)
  })

  test('follows the code as WhatsApp rotates it', async () => {
    const first = await pageShowsCurrentQr(page, h.url)
    h.standin.rotateQr()
    const next = await waitUntil('a new QR at GET /api/qr', async () => {
      const qr = await currentQr(h.url)
      return qr && qr !== first ? qr : undefined
    })
    await waitUntil('the page to show the new QR', async () => ((await qrInImage(page)) === next ? true : undefined), 10_000, 100)
    assert.notEqual(next, first)
    assert.equal(await qrAsPainted(page), next)
  })

  test('says "Paired as <name> (<number>)" once the phone scanned the code', async () => {
    await h.pair()
    await waitForText(page.locator('#status-text'), `Paired as My Business (${OWN.phone})`)
    assert.equal(await page.locator('#status').getAttribute('data-state'), 'open')
    assert.equal(await page.locator('#qr-box').isVisible(), false)
    assert.equal(await page.locator('#qr').getAttribute('src'), null, 'the last QR is gone')
    assert.equal(await page.locator('#phone-pairing').isVisible(), false)
    assert.equal(await page.locator('#paired-detail').textContent(), `This service now sends and receives WhatsApp messages as My Business (${OWN.phone}).`)
    await page.screenshot({ path: screenshotPath('qr-paired'), fullPage: true })
  })

  test('shows why the connection closed, and its Reconnect button takes the session back', async () => {
    h.standin.conflict()
    const closed = await h.waitForStatus((s) => s.state === 'closed')
    assert.match(closed.lastDisconnect?.reason ?? '', /replaced/)
    const reason = closed.lastDisconnect?.reason ?? ''
    await waitForText(page.locator('#status-text'), 'Disconnected')
    await waitForText(page.locator('#status-detail'), reason[0]?.toUpperCase() + reason.slice(1))
    assert.equal(await page.locator('#status').getAttribute('data-state'), 'closed')
    await page.screenshot({ path: screenshotPath('qr-closed'), fullPage: true })

    const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/reconnect')
    await page.getByRole('button', { name: 'Reconnect' }).click()
    const res = await answer
    assert.equal(res.request().method(), 'POST')
    assert.equal(res.status(), 200)
    await waitForText(page.locator('#status-text'), `Paired as My Business (${OWN.phone})`)
    assert.equal((await h.waitForStatus(() => true)).state, 'open')
    assert.deepEqual(errors, [], 'no script errors on the page')
  })
})

describe('the pairing page /qr with an API key', { skip }, () => {
  let h: WhatsAppHarness
  let browser: Browser
  let context: BrowserContext
  let page: Page
  const calls: { path: string; method: string; key: string | undefined }[] = []
  const errors: string[] = []

  const log = captureLog('debug')

  before(async () => {
    h = await startWithStandIn({ API_KEY: KEY }, { service: { logger: log.logger } })
    await waitUntil('a QR', async () => ((await statusWithKey(h.url, KEY)).state === 'qr' ? true : undefined))
    browser = await launchChromium()
    context = await browser.newContext(PHONE)
    page = await context.newPage()
    page.setDefaultTimeout(10_000)
    page.on('pageerror', (error) => errors.push(error.message))
    page.on('request', (request) => {
      const url = new URL(request.url())
      if (url.pathname.startsWith('/api/')) calls.push({ path: url.pathname + url.search, method: request.method(), key: request.headers()['x-api-key'] })
    })
  })
  after(async () => {
    await browser?.close()
    await h?.close()
  })

  async function assertNoQr(): Promise<void> {
    const code = await currentQr(h.url, KEY)
    assert.ok(code, 'the session does show a QR')
    assert.equal(await page.locator('img[src]').count(), 0, 'no image with a QR')
    const html = await page.content()
    assert.ok(!html.includes(code), 'the QR text is nowhere in the DOM')
    assert.ok(!html.includes('iVBORw0KGgo'), 'no PNG data in the DOM')
  }

  test('asks for the key and shows nothing until it has it', async () => {
    const res = await page.goto(`${h.url}/qr`)
    assert.equal(res?.status(), 200, 'the page itself is public')
    await page.getByLabel('API key').waitFor()
    assert.equal(await page.locator('#status-text').textContent(), 'API key required')
    assert.equal(await page.locator('#session').isVisible(), false)
    assert.equal(await page.locator('#key-error').textContent(), '', 'no error before a key was tried')
    await assertNoQr()
    assert.deepEqual(calls, [{ path: '/api/status', method: 'GET', key: undefined }], 'one probe, answered 401; the QR was never asked for')
    await page.screenshot({ path: screenshotPath('qr-key-form'), fullPage: true })
  })

  test('a wrong key is refused with a message and still shows nothing', async () => {
    await page.getByLabel('API key').fill('wrong')
    const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/status')
    await page.getByRole('button', { name: 'Continue' }).click()
    const res = await answer
    assert.equal(res.status(), 401)
    assert.equal(res.request().headers()['x-api-key'], 'wrong')
    await waitForText(page.locator('#key-error'), 'That API key is not valid.')
    assert.equal(await page.locator('#key-error').getAttribute('role'), 'alert')
    assert.equal(await storedKey(page), null)
    await assertNoQr()
    await page.screenshot({ path: screenshotPath('qr-wrong-key'), fullPage: true })
  })

  test('the right key shows the QR, is sent on every call and is kept for the tab', async () => {
    const from = calls.length
    await page.getByLabel('API key').fill(KEY)
    await page.getByRole('button', { name: 'Continue' }).click()
    const code = await pageShowsCurrentQr(page, h.url, KEY)
    assert.equal(await qrAsPainted(page), code)
    assert.equal(await page.locator('#key-form').isVisible(), false)
    assert.equal(await page.getByLabel('API key').inputValue(), '', 'the typed key is cleared from the form')
    assert.equal(await storedKey(page), KEY)
    const since = calls.slice(from)
    assert.ok(since.some((c) => c.path === '/api/qr?format=base64'), JSON.stringify(since))
    assert.deepEqual(since.filter((c) => c.key !== KEY), [], 'every call carries X-API-Key')

    await page.reload()
    assert.equal(await pageShowsCurrentQr(page, h.url, KEY), code, 'after a reload the key is still known')
    assert.equal(await page.locator('#key-form').isVisible(), false)
  })

  test('requests a pairing code for a phone number instead of a scan', async () => {
    await page.getByText('Link with a phone number instead').click()
    await page.getByLabel('Your WhatsApp number, with country code').fill('call me')
    await page.getByRole('button', { name: 'Get code' }).click()
    await waitForText(page.locator('#code-error'), /^Invalid input: phone: expected a phone number in international format/)
    assert.equal(await page.locator('#code').isVisible(), false)

    await page.getByLabel('Your WhatsApp number, with country code').fill('+1 555 000 1111')
    const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/pair-code')
    await page.getByRole('button', { name: 'Get code' }).click()
    const res = await answer
    assert.equal(res.status(), 200)
    assert.equal(res.request().headers()['x-api-key'], KEY)
    assert.deepEqual(res.request().postDataJSON(), { phone: '+1 555 000 1111' })
    const { code } = (await res.json()) as { code: string }
    assert.match(code, /^[A-Z0-9]{8}$/)
    await waitForText(page.locator('#code'), `${code.slice(0, 4)}-${code.slice(4)}`)
    assert.equal(await page.locator('#code-error').textContent(), '')
    await page.screenshot({ path: screenshotPath('qr-pair-code'), fullPage: true })
  })

  test('"Forget API key" locks the page again', async () => {
    await page.getByRole('button', { name: 'Forget API key' }).click()
    await page.getByLabel('API key').waitFor()
    assert.equal(await storedKey(page), null)
    assert.equal(await page.locator('#session').isVisible(), false)
    await assertNoQr()
    assert.ok(!(await page.content()).includes(KEY), 'the key is not left in the DOM')
    assert.deepEqual(errors, [], 'no script errors on the page')
  })

  test('a link with ?api_key= (through GET /) opens without asking, takes the key out of the address, and the log never has it', async () => {
    const from = calls.length
    const res = await page.goto(`${h.url}/?api_key=${KEY}`)
    assert.equal(res?.request().redirectedFrom()?.url(), `${h.url}/?api_key=${KEY}`, 'GET / leads to the pairing page')
    const code = await pageShowsCurrentQr(page, h.url, KEY)
    assert.equal(await qrAsPainted(page), code)
    assert.equal(await page.locator('#key-form').isVisible(), false, 'the key is not asked for')
    assert.equal(new URL(page.url()).pathname, '/qr')
    assert.equal(new URL(page.url()).search, '', 'the key is out of the address bar')
    assert.equal(await storedKey(page), KEY)
    const since = calls.slice(from)
    assert.ok(since.length > 0)
    assert.deepEqual(since.filter((c) => c.key !== KEY || c.path.includes('api_key')), [], 'the API is called with the header, never the key in a URL')
    const logged = log.lines.join('')
    assert.match(logged, /"url":"\/\?api_key=\[redacted\]"/, 'the request is logged, redacted')
    assert.ok(!logged.includes(`api_key=${KEY}`), 'the key is not in the log')
    assert.deepEqual(errors, [], 'no script errors on the page')
  })
})

describe('the pairing page /qr for a chosen session', { skip }, () => {
  let fleet: StandInFleet
  let service: TestService
  let browser: Browser
  let page: Page
  const calls: { path: string; method: string; key: string | undefined; status?: number }[] = []
  const urls: string[] = []
  const errors: string[] = []

  /** The session's own path for an operation: /api/status for default, /api/sessions/sales/status. */
  const pathOf = (session: string, operation: string) => (session === 'default' ? `/api/${operation}` : `/api/sessions/${session}/${operation}`)

  /** The code the session shows now (GET its qr as text), or undefined. */
  async function qrOf(session: string): Promise<string | undefined> {
    const res = await fetch(`${service.url}${pathOf(session, 'qr')}`, { headers: { 'X-API-Key': KEY } })
    return res.status === 200 ? res.text() : undefined
  }

  /** Waits until the page's QR image shows the session's current code; checks the code is that stand-in account's. */
  async function pageShowsQrOf(session: string): Promise<string> {
    const code = await waitUntil(`the page to show ${session}'s QR`, async () => {
      const shown = await qrInImage(page)
      return shown !== undefined && shown === (await qrOf(session)) ? shown : undefined
    })
    // The ref in the code is one the session's own stand-in account handed out, none of the other's.
    const { ref } = parseQr(code)
    const other = session === 'default' ? 'sales' : 'default'
    assert.ok((await fleet.get(session)!.waitForQr()).includes(ref), `${session}'s stand-in issued the ref`)
    assert.ok(!(await fleet.get(other)!.waitForQr()).includes(ref), `${other}'s stand-in did not`)
    return code
  }

  async function api(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
    const res = await fetch(`${service.url}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { 'X-API-Key': KEY, ...(init.body !== undefined && { 'Content-Type': 'application/json' }) },
      ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
    })
    return { status: res.status, body: await res.json() }
  }

  before(async () => {
    fleet = await startStandInFleet()
    for (const name of ['default', 'sales']) await fleet.add(name)
    const { fetchAgent, options } = fleet.socketOptionsFor('default')
    service = await startTestService(
      { API_KEY: KEY, WA_WS_URL: fleet.urlTemplate, SEND_MIN_GAP_MS: '0', RECONNECT_MIN_MS: '50', RECONNECT_MAX_MS: '500' },
      { socketOptions: { fetchAgent, options, connectTimeoutMs: 5_000 } },
    )
    const created = await api('/api/sessions', { body: { name: 'sales' } })
    assert.equal(created.status, 200, JSON.stringify(created.body))
    await waitUntil('a QR for both sessions', async () => ((await qrOf('default')) && (await qrOf('sales')) ? true : undefined), 15_000)
    browser = await launchChromium()
    page = await (await browser.newContext(PHONE)).newPage()
    page.setDefaultTimeout(10_000)
    page.on('pageerror', (error) => errors.push(error.message))
    page.on('request', (request) => urls.push(request.url()))
    page.on('response', (response) => {
      const url = new URL(response.url())
      if (url.pathname.startsWith('/api/')) {
        const request = response.request()
        calls.push({ path: url.pathname + url.search, method: request.method(), key: request.headers()['x-api-key'], status: response.status() })
      }
    })
  })
  after(async () => {
    await browser?.close()
    await service?.close()
    await fleet?.close()
    releaseBaileysTimers()
  })

  test('?session=sales asks for the key, then shows the QR of sales, not default\'s, with a select of the sessions', async () => {
    const res = await page.goto(`${service.url}/qr?session=sales`)
    assert.equal(res?.status(), 200)
    await page.getByLabel('API key').waitFor()
    assert.equal(await page.locator('#session-current').textContent(), 'sales', 'the page says which session it is for')
    assert.deepEqual(calls, [{ path: '/api/sessions/sales/status', method: 'GET', key: undefined, status: 401 }], 'one probe, at sales\'s own path')

    await page.getByLabel('API key').fill(KEY)
    await page.getByRole('button', { name: 'Continue' }).click()
    const code = await pageShowsQrOf('sales')
    assert.equal(await qrAsPainted(page), code, 'what Chromium painted decodes to sales\'s code')
    const defaults = await qrOf('default')
    assert.ok(defaults)
    assert.notEqual(code, defaults, 'not default\'s QR')
    assert.notEqual(parseQr(code).noiseKey, parseQr(defaults).noiseKey, 'another device identity than default\'s')
    assert.equal(await page.locator('#status-text').textContent(), 'Waiting for a scan')
    assert.equal(await page.locator('#session-current').textContent(), 'sales')
    assert.equal(await page.title(), 'Link WhatsApp · sales · wsgo')

    // The admin key may list the sessions: a select of them, on sales; no field to type one in.
    const select = page.getByLabel('Session', { exact: true })
    await waitUntil('the select of the sessions', async () => ((await select.isVisible()) ? true : undefined))
    assert.deepEqual(await select.locator('option').allTextContents(), ['default', 'sales'])
    assert.equal(await select.inputValue(), 'sales')
    assert.equal(await page.locator('#session-input').isVisible(), false)

    const since = calls.slice(1)
    assert.ok(since.some((c) => c.path === '/api/sessions/sales/qr?format=base64' && c.status === 200), JSON.stringify(since))
    assert.ok(since.some((c) => c.path === '/api/sessions?limit=100' && c.status === 200), 'the sessions were listed')
    assert.deepEqual(since.filter((c) => !c.path.startsWith('/api/sessions/sales/') && c.path !== '/api/sessions?limit=100'), [], 'nothing asked of default')
    assert.deepEqual(since.filter((c) => c.key !== KEY), [], 'every call carries X-API-Key')
    assert.equal(new URL(page.url()).search, '?session=sales')
    await page.screenshot({ path: screenshotPath('qr-session-sales'), fullPage: true })
  })

  test('choosing default in the select shows default\'s QR, rewrites the URL and does not reload', async () => {
    await page.evaluate('window.notReloaded = true')
    const salesCode = await qrInImage(page)
    const from = calls.length
    await page.getByLabel('Session', { exact: true }).selectOption('default')
    const code = await pageShowsQrOf('default')
    assert.notEqual(code, salesCode)
    assert.equal(await qrAsPainted(page), code)
    assert.equal(await page.locator('#session-current').textContent(), 'default')
    assert.equal(await page.title(), 'Link WhatsApp · wsgo')
    assert.equal(await page.evaluate('window.notReloaded'), true, 'the same document: no reload')
    const url = new URL(page.url())
    assert.equal(url.pathname + url.search, '/qr', 'default is the page without ?session=')
    const since = calls.slice(from)
    assert.ok(since.some((c) => c.path === '/api/qr?format=base64'), JSON.stringify(since))
    assert.deepEqual(since.filter((c) => c.path !== '/api/status' && c.path !== '/api/qr?format=base64'), [], 'default is reached at the contract paths')

    // And back: the URL names sales again, and a reload keeps it (and the key, from sessionStorage).
    await page.getByLabel('Session', { exact: true }).selectOption('sales')
    const back = await pageShowsQrOf('sales')
    assert.equal(new URL(page.url()).search, '?session=sales')
    await page.reload()
    assert.equal(await pageShowsQrOf('sales'), (await qrOf('sales')) ?? back)
    assert.equal(await page.locator('#key-form').isVisible(), false)
    assert.equal(await page.getByLabel('Session', { exact: true }).inputValue(), 'sales')
  })

  test('an unknown session shows the service\'s 404 message', async () => {
    await page.goto(`${service.url}/qr?session=nobody`)
    await waitForText(page.locator('#status-text'), 'Session not found')
    assert.equal(await page.locator('#status-detail').textContent(), 'No session named "nobody"')
    assert.equal(await page.locator('#status').getAttribute('data-state'), 'missing')
    const answered = calls.filter((c) => c.path === '/api/sessions/nobody/status')
    assert.ok(answered.length > 0 && answered.every((c) => c.status === 404), JSON.stringify(answered))
    assert.equal(await page.locator('#session-current').textContent(), 'nobody')
    assert.equal(await page.locator('img[src]').count(), 0, 'no QR')
    assert.equal(await page.getByRole('button', { name: 'Reconnect' }).isVisible(), false)
    const select = page.getByLabel('Session', { exact: true })
    await waitUntil('the select of the sessions', async () => ((await select.isVisible()) ? true : undefined))
    assert.equal(await select.inputValue(), 'nobody', 'the select says where the page is')
    await page.screenshot({ path: screenshotPath('qr-session-unknown'), fullPage: true })

    await select.selectOption('sales')
    await pageShowsQrOf('sales')
    assert.equal(await page.locator('#status').getAttribute('data-state'), 'qr')
    assert.equal(await page.locator('#status-detail').textContent(), '')
  })

  test('a session key cannot list the sessions: the page offers a field to type the name in', async () => {
    const made = await api('/api/sessions/sales/keys', { body: {} })
    assert.equal(made.status, 200, JSON.stringify(made.body))
    const salesKey = made.body.key as string
    assert.match(salesKey, /^wsk_/)

    await page.getByRole('button', { name: 'Forget API key' }).click()
    await page.getByLabel('API key').fill(salesKey)
    const from = calls.length
    await page.getByRole('button', { name: 'Continue' }).click()
    await pageShowsQrOf('sales')
    const field = page.getByLabel('Open another session')
    await waitUntil('the field for a session name', async () => ((await field.isVisible()) ? true : undefined))
    assert.equal(await page.locator('#session-pick').isVisible(), false, 'no select')
    assert.ok(calls.slice(from).some((c) => c.path === '/api/sessions?limit=100' && c.status === 403), 'the listing was refused')
    await page.screenshot({ path: screenshotPath('qr-session-key'), fullPage: true })

    await field.fill('Not Valid')
    await page.getByRole('button', { name: 'Open', exact: true }).click()
    await waitForText(page.locator('#session-error'), /^A session name is 1 to 64 lowercase letters/)
    assert.equal(await page.locator('#session-current').textContent(), 'sales', 'still on sales')

    await field.fill('default')
    await page.getByRole('button', { name: 'Open', exact: true }).click()
    await waitForText(page.locator('#status-text'), 'This key cannot open this session')
    assert.equal(await page.locator('#status-detail').textContent(), 'This key reaches session "sales" only, not "default"')
    assert.equal(await page.locator('#session-error').textContent(), '')
    assert.equal(await page.locator('img[src]').count(), 0, 'no QR')
    assert.equal(new URL(page.url()).search, '')

    await field.fill('sales')
    await page.getByRole('button', { name: 'Open', exact: true }).click()
    await pageShowsQrOf('sales')
    assert.equal(new URL(page.url()).search, '?session=sales')
    assert.equal(await page.locator('#session-current').textContent(), 'sales')

    assert.deepEqual(urls.filter((url) => url.includes(KEY) || url.includes(salesKey)), [], 'no key in any URL')
    assert.deepEqual(errors, [], 'no script errors on the page')
  })
})

describe('the interactive docs /docs', { skip }, () => {
  let service: TestService
  let browser: Browser
  let page: Page
  let document: {
    paths: Record<string, Record<string, { security?: unknown[] }>>
    webhooks?: Record<string, Record<string, unknown>>
    components: { schemas: Record<string, unknown> }
  }

  before(async () => {
    service = await startTestService({ API_KEY: KEY })
    document = (await (await fetch(`${service.url}/openapi.json`)).json()) as typeof document
    browser = await launchChromium()
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.setDefaultTimeout(10_000)
  })
  after(async () => {
    await browser?.close()
    await service?.close()
  })

  test('lists every operation of the document, with its lock when it needs the key, and the schemas', async () => {
    await page.goto(`${service.url}/docs/`)
    await page.locator('.opblock').first().waitFor()
    const operations = Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
    for (const must of ['POST /api/send/text', 'GET /api/qr', 'GET /api/status', 'POST /api/pair-code', 'GET /api/events']) assert.ok(operations.includes(must), must)

    const methods = await page.locator('.opblock .opblock-summary-method').allTextContents()
    const paths = await page.locator('.opblock .opblock-summary-path').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-path')))
    const shown = methods.map((method, i) => `${method} ${paths[i]}`)
    // The webhooks section (what the service POSTs to a receiver) is listed too, by event name.
    const webhooks = Object.entries(document.webhooks ?? {}).flatMap(([name, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${name}`))
    assert.ok(webhooks.includes('POST message'), 'the message event is in the webhooks section')
    assert.deepEqual([...shown].sort(), [...operations, ...webhooks].sort())

    const protectedCount = Object.values(document.paths).flatMap((item) => Object.values(item)).filter((op) => op.security?.length).length
    assert.equal(protectedCount, operations.length - 1, 'everything but /health needs the key')
    assert.equal(await page.locator('.opblock .authorization__btn').count(), protectedCount)
    assert.equal(await page.locator('#operations-Connection-health-check .authorization__btn').count(), 0)

    const schemas = await page.locator('.models .json-schema-2020-12__title').allTextContents()
    assert.deepEqual([...schemas].sort(), Object.keys(document.components.schemas).sort())
    await page.screenshot({ path: screenshotPath('docs-operations'), fullPage: false })
  })

  test('the Authorize dialog offers X-API-Key, and "try it out" of GET /api/status sends it', async () => {
    await page.locator('.auth-wrapper button.authorize').click()
    const headerScheme = page.locator('.auth-container').filter({ hasText: 'X-API-Key' })
    await headerScheme.waitFor()
    assert.match((await headerScheme.innerText()).replace(/\s+/g, ' '), /ApiKeyHeader \(apiKey\).*Name: X-API-Key In: header/)
    assert.match(await page.locator('.modal-ux').innerText(), /ApiKeyQuery[\s\S]*Name: api_key/)
    await headerScheme.locator('input').fill(KEY)
    await headerScheme.getByRole('button', { name: 'Apply credentials' }).click()
    await headerScheme.getByRole('button', { name: 'Remove authorization' }).waitFor()
    await page.screenshot({ path: screenshotPath('docs-authorize') })
    await page.locator('.modal-ux .close-modal').click()

    const operation = page.locator('#operations-Connection-session-status')
    await operation.locator('.opblock-summary').click()
    const tryOut = operation.getByRole('button', { name: 'Try it out' })
    if (await tryOut.isVisible()) await tryOut.click()
    const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/status')
    await operation.getByRole('button', { name: 'Execute' }).click()
    const res = await answer
    assert.equal(res.request().headers()['x-api-key'], KEY)
    assert.equal(new URL(res.url()).origin, service.url)
    assert.equal(res.status(), 200)
    const body = (await res.json()) as Status
    assert.equal(body.loggedIn, false)
    await waitForText(operation.locator('.live-responses-table tbody .response-col_status').first(), /^\s*200\s*$/)
    assert.match(await operation.locator('.live-responses-table tbody .response-col_description').first().innerText(), /"loggedIn": false/)
    await operation.scrollIntoViewIfNeeded()
    await operation.screenshot({ path: screenshotPath('docs-try-status') })
  })
})
