import { useState } from 'preact/hooks'
import { get, type Me, post } from './api.ts'
import { usd, when } from './format.ts'
import { html } from './html.ts'
import type { Approval } from './types.ts'
import { useData } from './use-data.ts'

/** Pending approvals; approve and deny for approvers and admins (the server checks the role again). */
export function ApprovalsView({ me, tick }: { me: Me; tick: number }) {
  const [reloads, setReloads] = useState(0)
  const [error, setError] = useState('')
  const [by, setBy] = useState('')
  const [note, setNote] = useState('')
  const list = useData(() => get<{ approvals: Approval[] }>('/approvals'), [tick, reloads])
  const decide = async (approval: Approval, decision: 'approve' | 'deny') => {
    try {
      setError('')
      await post(`/approvals/${encodeURIComponent(approval.id)}/decide`, { decision, by, note: note || null })
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    }
    setReloads(reloads + 1)
  }
  const approvals = list.data?.approvals ?? []
  return html`<section aria-labelledby="approvals-heading">
    <h2 id="approvals-heading">Approvals</h2>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    ${list.error && html`<p role="alert" class="error">${list.error.message}</p>`}
    ${!me.can.approve && html`<p class="muted">Your key (${me.role}) can see requests but not decide them.</p>`}
    ${me.can.approve
      ? html`<form class="filters" onSubmit=${(event: Event) => event.preventDefault()}>
          <label>Decide as <input name="by" autocomplete="name" value=${by} onInput=${(event: Event) => setBy((event.target as HTMLInputElement).value)} /></label>
          <label>Note <input name="note" value=${note} onInput=${(event: Event) => setNote((event.target as HTMLInputElement).value)} /></label>
        </form>`
      : ''}
    ${list.data && approvals.length === 0 ? html`<p>No request waits for a decision.</p>` : ''}
    <ul class="approvals">
      ${approvals.map(
        (approval) => html`<li key=${approval.id} data-approval-id=${approval.id}>
          <p><strong>${approval.agentId}</strong> asks to run <strong>${approval.tool}</strong> (${approval.action}) for ${usd(approval.amountMicros / 1e6)}${' · '}<a href=${`#/sessions/${encodeURIComponent(approval.sessionId)}`}>open the session</a></p>
          <p class="muted">${approval.reason} · requested ${when(approval.requestedAt)} · times out ${when(approval.expiresAt)}</p>
          ${me.can.approve
            ? html`<p class="decide">
                <button type="button" onClick=${() => decide(approval, 'approve')} aria-label=${`Approve ${approval.tool} for ${approval.agentId}`}>Approve</button>
                <button type="button" class="danger" onClick=${() => decide(approval, 'deny')} aria-label=${`Deny ${approval.tool} for ${approval.agentId}`}>Deny</button>
              </p>`
            : ''}
        </li>`,
      )}
    </ul>
  </section>`
}
