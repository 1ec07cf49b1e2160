/**
 * The audit dashboard: one static page that calls the `/v1` API with a key the viewer pastes
 * (kept in sessionStorage only). Sessions with spend against limits, and a session's trail
 * with blocked calls marked and the chain verified.
 */
export const dashboardHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Haldir — audit dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
  header { background: #1d2330; color: #fff; padding: 12px 20px; display: flex; gap: 12px; align-items: center; }
  header h1 { font-size: 16px; margin: 0 16px 0 0; }
  header input { width: 340px; padding: 4px 8px; }
  main { padding: 16px 20px; display: grid; grid-template-columns: minmax(320px, 1fr) 2fr; gap: 20px; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e3e6eb; vertical-align: top; }
  tr.session { cursor: pointer; } tr.session:hover, tr.selected { background: #eef3ff; }
  tr.blocked td { background: #fdecec; } tr.error td { background: #fff6e0; }
  .bar { height: 6px; background: #e3e6eb; border-radius: 3px; margin-top: 4px; }
  .bar span { display: block; height: 100%; background: #3b7bf6; border-radius: 3px; }
  .bar span.hot { background: #d9534f; }
  .tag { font-weight: 600; } .tag.BLOCKED { color: #c0392b; } .tag.ERROR { color: #b7791f; } .tag.OK { color: #2f855a; }
  #status { margin-left: auto; font-size: 12px; opacity: .8; }
  .muted { color: #6b7280; font-size: 12px; }
</style>
</head>
<body>
<header><h1>Haldir</h1><input id="key" type="password" placeholder="API key (hld_…)"><button id="load">Load</button><span id="status"></span></header>
<main>
  <section><h2>Sessions</h2><table><thead><tr><th>agent</th><th>spend</th><th>state</th></tr></thead><tbody id="sessions"></tbody></table></section>
  <section><h2 id="trail-title">Audit trail</h2><div id="verify" class="muted"></div>
    <table><thead><tr><th>#</th><th>time</th><th>tool</th><th>action</th><th>result</th><th>cost</th><th>reason</th></tr></thead><tbody id="trail"></tbody></table></section>
</main>
<script type="module">
const $ = (id) => document.getElementById(id)
const esc = (value) => String(value ?? '').replace(/[&<>"']/g, (ch) => '&#' + ch.charCodeAt(0) + ';')
$('key').value = sessionStorage.getItem('haldir-key') ?? ''
async function api(path) {
  const response = await fetch(path, { headers: { authorization: 'Bearer ' + $('key').value } })
  const json = await response.json()
  if (!response.ok) throw new Error(json.error?.message ?? response.status)
  return json
}
async function load() {
  sessionStorage.setItem('haldir-key', $('key').value)
  $('status').textContent = 'loading…'
  try {
    const sessions = await api('/v1/sessions?limit=200')
    const rows = await Promise.all(sessions.map(async (s) => ({ s, spend: await api('/v1/sessions/' + s.id + '/spend') })))
    $('sessions').innerHTML = rows.map(({ s, spend }) => {
      const limit = spend.limitMicros
      const pct = limit ? Math.min(100, (100 * spend.spentMicros) / limit) : 0
      const state = s.revokedAt ? 'revoked' : Date.now() >= s.expiresAt ? 'expired' : 'live'
      return '<tr class="session" data-id="' + esc(s.id) + '"><td>' + esc(s.agentId) + (s.parentId ? ' <span class="muted">child</span>' : '') +
        '<div class="muted">' + esc(s.id) + '</div></td><td>$' + (spend.spentMicros / 1e6).toFixed(4) + (limit ? ' / $' + (limit / 1e6).toFixed(2) : ' (no limit)') +
        (limit ? '<div class="bar"><span class="' + (pct >= 80 ? 'hot' : '') + '" style="width:' + pct + '%"></span></div>' : '') + '</td><td>' + state + '</td></tr>'
    }).join('')
    for (const row of document.querySelectorAll('tr.session')) row.onclick = () => trail(row.dataset.id, row)
    $('status').textContent = sessions.length + ' sessions'
  } catch (error) { $('status').textContent = 'error: ' + error.message }
}
async function trail(id, row) {
  for (const other of document.querySelectorAll('tr.selected')) other.classList.remove('selected')
  row.classList.add('selected')
  const [page, verified] = await Promise.all([api('/v1/audit?sessionId=' + encodeURIComponent(id)), api('/v1/sessions/' + id + '/audit/verify')])
  $('trail-title').textContent = 'Audit trail — ' + page.count + ' entries'
  $('verify').textContent = verified.ok ? 'chain verified (' + verified.count + ' entries)' : 'CHAIN BROKEN at #' + verified.brokenAt + ': ' + verified.message
  $('trail').innerHTML = page.entries.map((e) => {
    const tag = e.outcome === 'ok' ? 'OK' : e.outcome === 'denied' ? 'BLOCKED' : 'ERROR'
    return '<tr class="' + (tag === 'BLOCKED' ? 'blocked' : tag === 'ERROR' ? 'error' : '') + '"><td>' + e.seq + '</td><td>' + esc(e.timestamp) + '</td><td>' + esc(e.tool) +
      '</td><td>' + esc(e.action) + '</td><td class="tag ' + tag + '">' + tag + '</td><td>$' + e.costUsd.toFixed(4) + '</td><td>' + esc(e.reason) + '</td></tr>'
  }).join('')
}
$('load').onclick = load
if ($('key').value) load()
</script>
</body>
</html>
`
