import { useState } from 'preact/hooks'
import { get } from './api.ts'
import { usd, when } from './format.ts'
import { html } from './html.ts'
import type { TrailRow } from './types.ts'
import { useData } from './use-data.ts'

const PAGE = 100

/**
 * A session's trail with its filters (outcome, tool, time), paged on the server. The entry where
 * the chain breaks (`brokenAt`) is highlighted and labelled, so the altered row is what one sees.
 * Details (arguments as the gate redacted them, reason, hold, duration) open per row.
 */
export function TrailTable({ sessionId, brokenAt, tick }: { sessionId: string; brokenAt: number | null; tick: number }) {
  const [outcome, setOutcome] = useState('any')
  const [tool, setTool] = useState('')
  const [from, setFrom] = useState('')
  const [to, setTo] = useState('')
  const [offset, setOffset] = useState(0)
  const trail = useData(
    () => get<{ total: number; offset: number; rows: TrailRow[] }>(`/sessions/${encodeURIComponent(sessionId)}/trail`, { outcome, tool, from: from && new Date(from).toISOString(), to: to && new Date(to).toISOString(), offset, limit: PAGE }),
    [sessionId, outcome, tool, from, to, offset, tick],
  )
  const input = (set: (value: string) => void) => (event: Event) => {
    set((event.target as HTMLInputElement).value)
    setOffset(0)
  }
  const data = trail.data
  return html`<section aria-labelledby="trail-heading">
    <h3 id="trail-heading">Audit trail</h3>
    <form class="filters" onSubmit=${(event: Event) => event.preventDefault()}>
      <label>Outcome
        <select name="outcome" value=${outcome} onChange=${input(setOutcome)}>
          <option value="any">any</option><option value="ok">ok</option><option value="denied">denied</option><option value="error">error</option>
        </select>
      </label>
      <label>Tool <input type="search" name="tool" value=${tool} onInput=${input(setTool)} /></label>
      <label>From <input type="datetime-local" name="from" value=${from} onInput=${input(setFrom)} /></label>
      <label>To <input type="datetime-local" name="to" value=${to} onInput=${input(setTo)} /></label>
    </form>
    ${trail.error && html`<p role="alert" class="error">${trail.error.message}</p>`}
    <p class="muted">${data ? `${data.total} ${data.total === 1 ? 'entry' : 'entries'}` : 'Loading…'}</p>
    <div class="table-wrap">
      <table class="trail">
        <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Tool</th><th scope="col">Action</th><th scope="col">Outcome</th><th scope="col">Cost</th><th scope="col">Details</th></tr></thead>
        <tbody>
          ${data?.rows.map((row) => {
            const broken = brokenAt !== null && row.seq === brokenAt
            const classes = [broken ? 'broken' : '', row.outcome !== 'ok' ? 'blocked' : '', row.flagged ? 'flagged' : ''].filter(Boolean).join(' ')
            return html`<tr key=${row.id} class=${classes} data-seq=${row.seq}>
              <th scope="row">${row.seq}${broken ? html` <span class="badge danger">chain broken here</span>` : ''}</th>
              <td>${when(row.timestamp)}</td>
              <td>${row.tool}</td>
              <td>${row.action}</td>
              <td><span class=${`outcome ${row.outcome}`}>${row.outcome === 'ok' ? 'OK' : row.outcome === 'denied' ? 'BLOCKED' : 'ERROR'}</span>${row.flagged ? html` <span class="badge warn">flagged</span>` : ''}</td>
              <td>${usd(row.costUsd)}</td>
              <td>
                <details>
                  <summary>Entry ${row.seq}</summary>
                  <dl>
                    <dt>Reason</dt><dd>${row.reason ?? '—'}</dd>
                    <dt>Scope</dt><dd>${row.scope ?? '—'}</dd>
                    <dt>Hold</dt><dd>${row.holdId ?? '—'}</dd>
                    <dt>Duration</dt><dd>${row.durationMs === null ? '—' : `${row.durationMs} ms`}</dd>
                    <dt>Arguments and details (redacted)</dt><dd><pre>${JSON.stringify(row.details, null, 2)}</pre></dd>
                    <dt>Hash</dt><dd><code>${row.hash}</code></dd>
                  </dl>
                </details>
              </td>
            </tr>`
          })}
        </tbody>
      </table>
    </div>
    ${data && data.total > PAGE
      ? html`<nav class="pager" aria-label="Trail pages">
          <button type="button" disabled=${offset === 0} onClick=${() => setOffset(Math.max(0, offset - PAGE))}>Previous</button>
          <span>${offset + 1}–${Math.min(data.total, offset + PAGE)} of ${data.total}</span>
          <button type="button" disabled=${offset + PAGE >= data.total} onClick=${() => setOffset(offset + PAGE)}>Next</button>
        </nav>`
      : ''}
  </section>`
}
