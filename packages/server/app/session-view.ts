import { useState } from 'preact/hooks'
import { exportUrl, get, type Me, post } from './api.ts'
import { SpendBar, SpendBreakdownChart, SpendOverTimeChart } from './charts.ts'
import { usd, when } from './format.ts'
import { html } from './html.ts'
import { TrailTable } from './trail-table.ts'
import type { SessionDetail } from './types.ts'
import { useData } from './use-data.ts'

/** Verification first and loud: a broken chain is an alert naming the entry, not grey small print. */
function VerificationBanner({ verification }: { verification: SessionDetail['verification'] }) {
  if (verification.ok) return html`<p class="verification ok" role="status"><strong>Chain verified</strong>: all ${verification.count} entries are intact.</p>`
  return html`<div class="verification broken" role="alert">
    <strong>Chain broken at entry ${verification.brokenAt}</strong> (${verification.reason}): ${verification.message}. Entries from ${verification.brokenAt} on cannot be trusted.
  </div>`
}

/** Revoke, in two steps (the second button confirms), for admins only; the server refuses anyone else too. */
function RevokeControl({ sessionId, onDone }: { sessionId: string; onDone: () => void }) {
  const [confirming, setConfirming] = useState(false)
  const [error, setError] = useState('')
  const revoke = async () => {
    try {
      await post(`/sessions/${encodeURIComponent(sessionId)}/revoke`)
      setConfirming(false)
      onDone()
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    }
  }
  return html`<span class="revoke">
    ${confirming
      ? html`<button type="button" class="danger" onClick=${revoke}>Confirm revoke</button> <button type="button" onClick=${() => setConfirming(false)}>Cancel</button>`
      : html`<button type="button" class="danger" onClick=${() => setConfirming(true)}>Revoke session</button>`}
    ${error && html`<span role="alert" class="error">${error}</span>`}
  </span>`
}

export function SessionView({ sessionId, me, tick }: { sessionId: string; me: Me; tick: number }) {
  const [reloads, setReloads] = useState(0)
  const detail = useData(() => get<SessionDetail>(`/sessions/${encodeURIComponent(sessionId)}`), [sessionId, tick, reloads])
  const data = detail.data
  if (detail.error && !data) return html`<p role="alert" class="error">${detail.error.message}</p>`
  if (!data) return html`<p>Loading…</p>`
  const { session, spend } = data
  return html`<article aria-labelledby="session-heading">
    <p><a href="#/">← All sessions</a>${session.parentId ? html` · <a href=${`#/sessions/${encodeURIComponent(session.parentId)}`}>parent crew</a>` : ''}</p>
    <header class="session-header">
      <h2 id="session-heading">${session.agentId} <span class=${`state ${session.state}`}>${session.state}</span></h2>
      <div class="actions">
        <a href=${exportUrl(session.id)} download>Export bundle</a>
        ${me.can.revoke && session.state === 'live' ? html`<${RevokeControl} sessionId=${session.id} onDone=${() => setReloads(reloads + 1)} />` : ''}
      </div>
    </header>
    <${VerificationBanner} verification=${data.verification} />
    <dl class="facts">
      <dt>Session</dt><dd><code>${session.id}</code></dd>
      <dt>Scopes</dt><dd>${session.scopes.join(', ') || '—'}</dd>
      <dt>Spend</dt><dd><${SpendBar} spent=${spend.spentUsd} reserved=${spend.reservedUsd} limit=${spend.limitUsd} /></dd>
      <dt>Reserved</dt><dd>${usd(spend.reservedUsd)} in ${data.holds.length} open ${data.holds.length === 1 ? 'hold' : 'holds'}</dd>
      <dt>Expires</dt><dd>${when(session.expiresAt)}</dd>
      ${data.treeHead
        ? html`<dt>Signed tree head</dt><dd><code>size ${data.treeHead.treeSize} · root ${data.treeHead.rootHash.slice(0, 16)}… · signed ${when(data.treeHead.signedAt * 1000)}</code></dd>`
        : ''}
    </dl>
    ${spend.windows.length > 0
      ? html`<h3>Budget windows</h3><ul>${spend.windows.map(
          (window) => html`<li key=${window.id}>${window.kind === 'calendar' ? `per ${window.period}` : `rolling ${Math.round((window.durationMs ?? 0) / 1000)} s`}:
            <${SpendBar} spent=${window.spentMicros / 1e6} reserved=${window.reservedMicros / 1e6} limit=${window.limitMicros / 1e6} />${window.resetsAt ? html` <span class="muted">resets ${when(window.resetsAt)}</span>` : ''}</li>`,
        )}</ul>`
      : ''}
    ${data.holds.length > 0
      ? html`<h3>Open holds</h3><ul>${data.holds.map((hold) => html`<li key=${hold.id}><code>${hold.id}</code> ${hold.tool}: ${usd(hold.amountUsd)} until ${when(hold.expiresAt)}</li>`)}</ul>`
      : ''}
    ${data.approvals.filter((approval) => approval.status === 'pending').length > 0
      ? html`<p class="badge warn">Waiting for approval: ${data.approvals.filter((approval) => approval.status === 'pending').map((approval) => `${approval.tool} ${usd(approval.amountMicros / 1e6)}`).join(', ')} — <a href="#/approvals">approvals</a></p>`
      : ''}
    ${data.children.length > 0
      ? html`<h3>Agents</h3><ul>${data.children.map((child) => html`<li key=${child.id}><a href=${`#/sessions/${encodeURIComponent(child.id)}`}>${child.agentId}</a> <span class=${`state ${child.state}`}>${child.state}</span> <${SpendBar} spent=${child.spentUsd} reserved=${child.reservedUsd} limit=${child.limitUsd} /></li>`)}</ul>`
      : ''}
    <div class="charts">
      <${SpendOverTimeChart} points=${data.spendOverTime} />
      <${SpendBreakdownChart} amounts=${spend.byTool} by="tool" />
      <${SpendBreakdownChart} amounts=${data.spendByModel} by="model" />
    </div>
    <${TrailTable} sessionId=${session.id} brokenAt=${data.verification.ok ? null : data.verification.brokenAt} tick=${tick + reloads} />
  </article>`
}
