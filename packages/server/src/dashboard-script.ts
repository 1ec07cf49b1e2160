import { httpRoutes } from '@haldir/core/backend'

// The API paths the page calls, taken from the route table so the page follows the routes.
const routes = {
  listSessions: httpRoutes.listSessions.path,
  getSpend: httpRoutes.getSpend.path,
  queryAudit: httpRoutes.queryAudit.path,
  verifyAudit: httpRoutes.verifyAudit.path,
  listApprovals: httpRoutes.listApprovals.path,
  decideApproval: httpRoutes.decideApproval.path,
}

/**
 * The dashboard's script, served as `/dashboard.js`. It calls the API with the key the viewer
 * pastes (kept in sessionStorage only), so it sees exactly what that key's role may read. It
 * builds the page with `textContent` and DOM nodes, never HTML strings: nothing from the API is
 * ever parsed as markup.
 */
export const dashboardScript = String.raw`const routes = ${JSON.stringify(routes)}
const path = (template, params) => template.replace(/:(\w+)/g, (_, name) => encodeURIComponent(params[name]))
const $ = (id) => document.getElementById(id)
const el = (tag, options, ...children) => {
  const node = document.createElement(tag)
  if (options?.class) node.className = options.class
  if (options?.text !== undefined) node.textContent = String(options.text)
  node.append(...children)
  return node
}
$('key').value = sessionStorage.getItem('haldir-key') ?? ''
async function api(url, body) {
  const headers = { authorization: 'Bearer ' + $('key').value }
  const init = body === undefined ? { headers } : { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) }
  const response = await fetch(url, init)
  const json = await response.json().catch(() => ({}))
  if (!response.ok) throw new Error(json.error?.message ?? String(response.status))
  return json
}
async function load() {
  sessionStorage.setItem('haldir-key', $('key').value)
  $('status').textContent = 'loading…'
  try {
    const sessions = await api(routes.listSessions + '?limit=200')
    const rows = await Promise.all(sessions.map(async (session) => ({ session, spend: await api(path(routes.getSpend, { sessionId: session.id })) })))
    $('sessions').replaceChildren(...rows.map(({ session, spend }) => sessionRow(session, spend)))
    $('status').textContent = sessions.length + ' sessions'
  } catch (error) {
    $('status').textContent = 'error: ' + error.message
  }
  await approvals()
}
// Calls waiting for a person, with their held money; approve or deny needs an approver (or admin) key.
async function approvals() {
  try {
    const pending = await api(routes.listApprovals + '?status=pending&limit=100')
    $('approvals').replaceChildren(...pending.map(approvalRow))
    $('approvals-status').textContent = pending.length + ' waiting'
  } catch (error) {
    $('approvals-status').textContent = 'error: ' + error.message
  }
}
function approvalRow(approval) {
  const decide = (decision) => async () => {
    const by = $('approver').value.trim()
    if (!by) {
      $('approvals-status').textContent = 'say who decides (your name) first'
      return
    }
    try {
      const decided = await api(path(routes.decideApproval, { approvalId: approval.id }), { decision, decidedBy: by, note: null })
      $('approvals-status').textContent = decided.id + ' ' + decided.status + ' by ' + decided.decidedBy
      await approvals()
    } catch (error) {
      $('approvals-status').textContent = 'error: ' + error.message
    }
  }
  const approve = el('button', { text: 'Approve' })
  approve.addEventListener('click', decide('approve'))
  const deny = el('button', { text: 'Deny' })
  deny.addEventListener('click', decide('deny'))
  const what = el('td', { text: approval.agentId + ' — ' + approval.tool })
  what.append(el('div', { class: 'muted', text: approval.reason }))
  return el(
    'tr',
    { class: 'approval' },
    what,
    el('td', { text: '$' + (approval.amountMicros / 1e6).toFixed(2) + ' held' }),
    el('td', { text: 'until ' + new Date(approval.expiresAt).toISOString() }),
    el('td', {}, approve, deny),
  )
}
function sessionRow(session, spend) {
  const limit = spend.limitMicros
  const percent = limit ? Math.min(100, (100 * spend.spentMicros) / limit) : 0
  const state = session.revokedAt ? 'revoked' : Date.now() >= session.expiresAt ? 'expired' : 'live'
  const agent = el('td', { text: session.agentId })
  if (session.parentId) agent.append(' ', el('span', { class: 'muted', text: 'child' }))
  agent.append(el('div', { class: 'muted', text: session.id }))
  const money = el('td', { text: '$' + (spend.spentMicros / 1e6).toFixed(4) + (limit ? ' / $' + (limit / 1e6).toFixed(2) : ' (no limit)') })
  if (limit) {
    const fill = el('span', { class: percent >= 80 ? 'hot' : '' })
    // Through the CSSOM, which the CSP allows (a style attribute in markup it would not).
    fill.style.width = percent + '%'
    money.append(el('div', { class: 'bar' }, fill))
  }
  const row = el('tr', { class: 'session' }, agent, money, el('td', { text: state }))
  row.addEventListener('click', () => trail(session.id, row))
  return row
}
async function trail(id, row) {
  for (const other of document.querySelectorAll('tr.selected')) other.classList.remove('selected')
  row.classList.add('selected')
  try {
    const [page, verified] = await Promise.all([api(routes.queryAudit + '?sessionId=' + encodeURIComponent(id)), api(path(routes.verifyAudit, { sessionId: id }))])
    $('trail-title').textContent = 'Audit trail — ' + page.count + ' entries'
    $('verify').textContent = verified.ok ? 'chain verified (' + verified.count + ' entries)' : 'CHAIN BROKEN at #' + verified.brokenAt + ': ' + verified.message
    $('trail').replaceChildren(...page.entries.map(entryRow))
  } catch (error) {
    $('status').textContent = 'error: ' + error.message
  }
}
function entryRow(entry) {
  const tag = entry.outcome === 'ok' ? 'OK' : entry.outcome === 'denied' ? 'BLOCKED' : 'ERROR'
  return el(
    'tr',
    { class: tag === 'BLOCKED' ? 'blocked' : tag === 'ERROR' ? 'error' : '' },
    el('td', { text: entry.seq }),
    el('td', { text: entry.timestamp }),
    el('td', { text: entry.tool }),
    el('td', { text: entry.action }),
    el('td', { class: 'tag ' + tag, text: tag }),
    el('td', { text: '$' + entry.costUsd.toFixed(4) }),
    el('td', { text: entry.reason ?? '' }),
  )
}
$('load').addEventListener('click', load)
if ($('key').value) load()
`
