// The pairing page's only script. Everything it shows comes from the protected API (status, QR,
// pairing code), sent with the X-API-Key the person typed in (kept in sessionStorage): the page
// itself holds no data. It polls GET api/status every 2 s, and GET api/qr?format=base64 while the
// session waits for a scan, so it follows WhatsApp's QR rotation and notices the pairing.
'use strict'
;(() => {
  const KEY_STORAGE = 'wsgo.apiKey'
  const POLL_MS = 2000
  // The API lives next to this page: /qr -> /api/..., /prefix/qr -> /prefix/api/... (behind a proxy).
  const base = location.pathname.replace(/\/qr\/?$/, '/')
  const $ = (id) => document.getElementById(id)
  const el = {
    lede: $('lede'), status: $('status'), statusText: $('status-text'), statusDetail: $('status-detail'),
    keyForm: $('key-form'), key: $('key'), keyError: $('key-error'),
    session: $('session'), qrBox: $('qr-box'), qr: $('qr'),
    paired: $('paired'), pairedDetail: $('paired-detail'),
    waiting: $('waiting'), waitingDetail: $('waiting-detail'),
    phonePairing: $('phone-pairing'), codeForm: $('code-form'), phone: $('phone'), code: $('code'), codeError: $('code-error'),
    reconnect: $('reconnect'), forgetKey: $('forget-key'), actionMessage: $('action-message'),
  }

  $('docs-link').href = `${base}docs/`

  let apiKey = sessionStorage.getItem(KEY_STORAGE) || ''
  let shownQr = ''
  let timer = 0
  // Bumped whenever the key changes: answers to requests made with the old key are dropped.
  let epoch = 0

  class Unauthorized extends Error {}
  class ApiFailure extends Error {
    constructor(message, status, code) {
      super(message)
      this.status = status
      this.code = code
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' }
    if (apiKey) headers['X-API-Key'] = apiKey
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    const res = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    })
    const data = await res.json().catch(() => ({}))
    if (res.status === 401) throw new Unauthorized(data.error || 'Unauthorized')
    if (!res.ok) throw new ApiFailure(data.error || `The service answered ${res.status}`, res.status, data.code)
    return data
  }

  // Only changed text is written, so the live region announces changes, not every poll.
  function setStatus(state, text, detail = '') {
    el.status.dataset.state = state
    if (el.statusText.textContent !== text) el.statusText.textContent = text
    if (el.statusDetail.textContent !== detail) el.statusDetail.textContent = detail
  }

  const sentence = (text) => (text ? text[0].toUpperCase() + text.slice(1) : '')

  function numberOf(device) {
    return (device || '').split('@')[0].split(':')[0]
  }

  function clearQr() {
    shownQr = ''
    el.qr.removeAttribute('src')
    el.qrBox.hidden = true
  }

  function showQr(qr) {
    if (qr.qr !== shownQr) {
      el.qr.src = `data:${qr.mime_type};base64,${qr.image_base64}`
      shownQr = qr.qr
    }
    el.qrBox.hidden = false
  }

  function showWaiting(text) {
    el.waiting.hidden = !text
    el.waitingDetail.textContent = text
  }

  function render(status, qr) {
    el.keyForm.hidden = true
    el.session.hidden = false
    el.forgetKey.hidden = !apiKey
    el.lede.hidden = status.loggedIn
    el.paired.hidden = !status.loggedIn
    el.phonePairing.hidden = status.loggedIn || status.state !== 'qr'
    if (status.loggedIn) {
      clearQr()
      showWaiting('')
      el.code.hidden = true
      const number = numberOf(status.device)
      const who = status.pushName ? `${status.pushName} (${number})` : number
      setStatus('open', `Paired as ${who}`)
      el.pairedDetail.textContent = `This service now sends and receives WhatsApp messages as ${who}.`
      return
    }
    const reason = sentence(status.lastDisconnect ? status.lastDisconnect.reason : '')
    switch (status.state) {
      case 'qr':
        if (qr) {
          showQr(qr)
          showWaiting('')
          setStatus('qr', 'Waiting for a scan')
        } else {
          clearQr()
          showWaiting('WhatsApp is preparing a new code.')
          setStatus('connecting', 'Waiting for a code…')
        }
        return
      case 'connecting':
        clearQr()
        showWaiting('Connecting to WhatsApp; the code appears in a moment.')
        setStatus('connecting', 'Connecting…')
        return
      case 'standby':
        // Another process sharing the database owns the WhatsApp connection (and shows the QR).
        clearQr()
        showWaiting('The process that owns the connection shows the pairing code.')
        setStatus('standby', 'On standby', reason || 'Another process owns the WhatsApp connection')
        return
      case 'logged_out':
        clearQr()
        showWaiting('Press Reconnect to show a new code.')
        setStatus('logged_out', 'Logged out', reason)
        return
      default:
        clearQr()
        showWaiting('Press Reconnect to connect again now.')
        setStatus('closed', 'Disconnected', reason)
    }
  }

  function schedule(delay = POLL_MS) {
    clearTimeout(timer)
    timer = setTimeout(refresh, delay)
  }

  function stopPolling() {
    clearTimeout(timer)
    epoch++
  }

  async function refresh() {
    const mine = epoch
    try {
      const status = await api('GET', 'api/status')
      let qr
      if (!status.loggedIn && status.state === 'qr') {
        // 404/409 here only mean the code changed state between the two calls: the next poll tells.
        qr = await api('GET', 'api/qr?format=base64').catch((error) => {
          if (error instanceof Unauthorized) throw error
          return undefined
        })
      }
      if (mine !== epoch) return
      render(status, qr)
    } catch (error) {
      if (mine !== epoch) return
      if (error instanceof Unauthorized) {
        askForKey(apiKey ? 'The saved API key was refused; enter it again.' : '')
        return
      }
      clearQr() // a code that can no longer be checked may be stale
      setStatus('unreachable', 'Cannot reach the service', `Retrying every ${POLL_MS / 1000} seconds…`)
    }
    schedule()
  }

  function askForKey(message) {
    stopPolling()
    apiKey = ''
    sessionStorage.removeItem(KEY_STORAGE)
    clearQr()
    el.session.hidden = true
    el.lede.hidden = false
    el.code.hidden = true
    el.code.textContent = ''
    el.keyForm.hidden = false
    el.keyError.textContent = message
    setStatus('locked', 'API key required')
    el.key.focus()
  }

  el.keyForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    const candidate = el.key.value.trim()
    if (!candidate) {
      el.keyError.textContent = 'Enter the API key.'
      return
    }
    const button = el.keyForm.querySelector('button')
    button.disabled = true
    el.keyError.textContent = ''
    apiKey = candidate
    try {
      await api('GET', 'api/status')
      sessionStorage.setItem(KEY_STORAGE, candidate)
      el.key.value = ''
      stopPolling()
      refresh()
    } catch (error) {
      apiKey = ''
      el.keyError.textContent = error instanceof Unauthorized ? 'That API key is not valid.' : `Could not check the key: ${error.message}`
      el.key.select()
    } finally {
      button.disabled = false
    }
  })

  el.forgetKey.addEventListener('click', () => askForKey(''))

  el.reconnect.addEventListener('click', async () => {
    el.reconnect.disabled = true
    el.actionMessage.textContent = 'Reconnecting…'
    try {
      await api('POST', 'api/reconnect')
      el.actionMessage.textContent = 'Reconnected; a new code appears if the device is not paired.'
    } catch (error) {
      if (error instanceof Unauthorized) return askForKey('The saved API key was refused; enter it again.')
      el.actionMessage.textContent = `Reconnect failed: ${error.message}`
    } finally {
      el.reconnect.disabled = false
    }
    stopPolling()
    refresh()
  })

  el.codeForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    const phone = el.phone.value.trim()
    el.codeError.textContent = ''
    el.code.hidden = true
    if (!phone) {
      el.codeError.textContent = 'Enter your phone number with its country code.'
      return
    }
    const button = el.codeForm.querySelector('button')
    button.disabled = true
    try {
      const { code } = await api('POST', 'api/pair-code', { phone })
      el.code.textContent = code.length === 8 ? `${code.slice(0, 4)}-${code.slice(4)}` : code
      el.code.hidden = false
    } catch (error) {
      if (error instanceof Unauthorized) return askForKey('The saved API key was refused; enter it again.')
      el.codeError.textContent = error.message
    } finally {
      button.disabled = false
    }
  })

  refresh()
})()
