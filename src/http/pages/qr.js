// The pairing page's only script. Everything it shows comes from the protected API (status, QR,
// pairing code), sent with the X-API-Key the person typed in or the link carried (kept in
// sessionStorage, never left in the URL): the page itself holds no data. It polls the session's status every 2 s, and its QR
// (?format=base64) while the session waits for a scan, so it follows WhatsApp's QR rotation and
// notices the pairing.
//
// The session comes from ?session= (default: default): `default` is reached at the contract's
// paths (api/status, ...), any other at api/sessions/{session}/status, .... The person switches it
// with a select of the sessions when the key may list them (GET api/sessions, the admin key), else
// by typing its name; switching rewrites ?session= in place (history.replaceState), no reload.
'use strict'
;(() => {
  const KEY_STORAGE = 'wsgo.apiKey'
  const POLL_MS = 2000
  const DEFAULT_SESSION = 'default'
  // As the service checks them (src/session/names.ts); a name typed in is checked before it is asked for.
  const SESSION_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/
  const LIST_LIMIT = 100
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
    sessionCurrent: $('session-current'), sessionForm: $('session-form'), sessionPick: $('session-pick'), sessionSelect: $('session-select'),
    sessionType: $('session-type'), sessionInput: $('session-input'), sessionError: $('session-error'),
  }
  el.sessionTypeLabel = el.sessionType.querySelector('label')

  $('docs-link').href = `${base}docs/`

  // /qr?api_key=KEY (a link handed to a person): the key is used as if typed in, and taken out of
  // the address bar and the history at once, so it is not bookmarked, shared or shown on screen.
  const query = new URLSearchParams(location.search)
  const linkedKey = (query.get('api_key') || '').trim()
  if (query.has('api_key')) {
    query.delete('api_key')
    const url = new URL(location.href)
    url.search = query.toString()
    history.replaceState(history.state, '', url)
  }
  if (linkedKey) sessionStorage.setItem(KEY_STORAGE, linkedKey)

  let apiKey = sessionStorage.getItem(KEY_STORAGE) || ''
  let session = (query.get('session') || '').trim() || DEFAULT_SESSION
  let shownQr = ''
  let timer = 0
  // Bumped whenever the key or the session changes: answers to requests made before are dropped.
  let epoch = 0
  // Whether the page waits for a key (the key form is up, nothing is polled).
  let locked = false
  // The key the session list was asked for with (null: not asked yet), so it is asked once per key.
  let listedWith = null
  let listEpoch = 0

  /** The session's own path for a contract operation: api/status, or api/sessions/sales/status. */
  const sessionPath = (operation) =>
    session === DEFAULT_SESSION ? `api/${operation}` : `api/sessions/${encodeURIComponent(session)}/${operation}`

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
    el.reconnect.hidden = false
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
      const status = await api('GET', sessionPath('status'))
      let qr
      if (!status.loggedIn && status.state === 'qr') {
        // 404/409 here only mean the code changed state between the two calls: the next poll tells.
        qr = await api('GET', sessionPath('qr?format=base64')).catch((error) => {
          if (error instanceof Unauthorized) throw error
          return undefined
        })
      }
      if (mine !== epoch) return
      render(status, qr)
      loadSessions()
    } catch (error) {
      if (mine !== epoch) return
      if (error instanceof Unauthorized) {
        askForKey(apiKey ? 'The saved API key was refused; enter it again.' : '')
        return
      }
      clearQr() // a code that can no longer be checked may be stale
      if (error instanceof ApiFailure && (error.status === 404 || error.status === 403)) {
        // The key is good, the session is not there (or not this key's): say what the service said.
        showProblem(error.status === 404 ? 'missing' : 'forbidden', error.status === 404 ? 'Session not found' : 'This key cannot open this session', error.message)
        loadSessions()
      } else if (error instanceof ApiFailure) {
        setStatus('unreachable', 'The service could not answer', `${error.message}. Retrying every ${POLL_MS / 1000} seconds…`)
      } else {
        setStatus('unreachable', 'Cannot reach the service', `Retrying every ${POLL_MS / 1000} seconds…`)
      }
    }
    schedule()
  }

  /** The session cannot be shown: only the status line (with the service's message) and the chooser. */
  function showProblem(state, text, detail) {
    el.keyForm.hidden = true
    el.session.hidden = false
    el.lede.hidden = true
    el.qrBox.hidden = true
    el.paired.hidden = true
    el.phonePairing.hidden = true
    el.reconnect.hidden = true
    showWaiting('')
    el.forgetKey.hidden = !apiKey
    setStatus(state, text, detail)
  }

  function askForKey(message) {
    stopPolling()
    locked = true
    apiKey = ''
    sessionStorage.removeItem(KEY_STORAGE)
    listedWith = null
    listEpoch++
    showSessionList(null) // whether the next key may list the sessions is not known
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
      // A 404 or 403 about the session comes after the key was accepted: the page then says so.
      await api('GET', sessionPath('status')).catch((error) => {
        if (!(error instanceof ApiFailure && (error.status === 404 || error.status === 403))) throw error
      })
      sessionStorage.setItem(KEY_STORAGE, candidate)
      el.key.value = ''
      locked = false
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
    const mine = session
    el.reconnect.disabled = true
    el.actionMessage.textContent = 'Reconnecting…'
    try {
      await api('POST', sessionPath('reconnect'))
      if (mine === session) el.actionMessage.textContent = 'Reconnected; a new code appears if the device is not paired.'
    } catch (error) {
      if (error instanceof Unauthorized) return askForKey('The saved API key was refused; enter it again.')
      if (mine === session) el.actionMessage.textContent = `Reconnect failed: ${error.message}`
    } finally {
      el.reconnect.disabled = false
    }
    if (mine !== session || locked) return
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
    const mine = session
    try {
      const { code } = await api('POST', sessionPath('pair-code'), { phone })
      if (mine !== session) return // the person switched session meanwhile: that code is not this one's
      el.code.textContent = code.length === 8 ? `${code.slice(0, 4)}-${code.slice(4)}` : code
      el.code.hidden = false
    } catch (error) {
      if (error instanceof Unauthorized) return askForKey('The saved API key was refused; enter it again.')
      if (mine === session) el.codeError.textContent = error.message
    } finally {
      button.disabled = false
    }
  })

  // Choosing the session.

  function showSession() {
    el.sessionCurrent.textContent = session
    document.title = session === DEFAULT_SESSION ? 'Link WhatsApp · wsgo' : `Link WhatsApp · ${session} · wsgo`
    const select = el.sessionSelect
    if (select.options.length && ![...select.options].some((option) => option.value === session)) {
      // Not on the first page of the list (or not a session at all): listed so the select says where the page is.
      select.add(new Option(session, session))
    }
    if (select.options.length) select.value = session
  }

  /**
   * Shows the select of the sessions (`list`: GET api/sessions's answer) or, with null (the key may
   * not list them), only the field to type a name in. A list with more pages keeps the field too.
   */
  function showSessionList(list) {
    const select = el.sessionSelect
    select.replaceChildren()
    if (list) for (const { name } of list.sessions) select.add(new Option(name, name))
    el.sessionPick.hidden = !list
    el.sessionType.hidden = Boolean(list) && !list.next
    el.sessionTypeLabel.textContent = list ? 'Or open another session' : 'Open another session'
    showSession()
  }

  /** Asks once per key whether it may list the sessions (the admin key may; a session key gets 403). */
  async function loadSessions() {
    if (locked || listedWith === apiKey) return
    listedWith = apiKey
    const mine = ++listEpoch
    let list = null
    try {
      list = await api('GET', `api/sessions?limit=${LIST_LIMIT}`)
    } catch (error) {
      if (error instanceof ApiFailure && error.status >= 500) listedWith = null // ask again on a later poll
    }
    if (mine !== listEpoch || locked) return
    showSessionList(list && Array.isArray(list.sessions) ? list : null)
  }

  function switchTo(name) {
    el.sessionError.textContent = ''
    if (name === session) return
    session = name
    const url = new URL(location.href)
    if (name === DEFAULT_SESSION) url.searchParams.delete('session')
    else url.searchParams.set('session', name)
    history.replaceState(history.state, '', url)
    showSession()
    // Nothing of the previous session stays on show.
    clearQr()
    el.code.hidden = true
    el.code.textContent = ''
    el.codeError.textContent = ''
    el.actionMessage.textContent = ''
    el.phonePairing.open = false
    if (locked) return // the key form checks the key against the session now chosen
    el.session.hidden = true
    setStatus('loading', 'Loading…')
    stopPolling()
    refresh()
  }

  el.sessionSelect.addEventListener('change', () => switchTo(el.sessionSelect.value))

  el.sessionForm.addEventListener('submit', (event) => {
    event.preventDefault()
    const name = el.sessionInput.value.trim()
    if (!name) {
      el.sessionError.textContent = 'Enter the session\'s name.'
      return
    }
    if (!SESSION_NAME.test(name)) {
      el.sessionError.textContent = 'A session name is 1 to 64 lowercase letters, digits, _ and -, starting with a letter or digit.'
      return
    }
    el.sessionInput.value = ''
    switchTo(name)
  })

  showSessionList(null)
  refresh()
})()
