import { useState } from 'preact/hooks'
import { get } from './api.ts'
import { SpendBar } from './charts.ts'
import { percent, when } from './format.ts'
import { html } from './html.ts'
import type { SessionPage, SessionRow } from './types.ts'
import { useData } from './use-data.ts'

const PAGE_SIZE = 25

/** One row, and when opened, its children (loaded from the server on demand, each a row that opens in turn). */
function SessionTreeRow({ row, depth, tick }: { row: SessionRow; depth: number; tick: number }) {
  const [open, setOpen] = useState(false)
  const children = useData(() => (open ? get<SessionPage>('/sessions', { parentId: row.id, pageSize: 200 }) : Promise.resolve(undefined)), [open, row.id, tick])
  return html`
    <tr class=${row.flagged ? 'flagged' : ''} data-session-id=${row.id}>
      <td style=${{ paddingLeft: `${0.5 + depth * 1.5}rem` }}>
        ${row.childCount > 0
          ? html`<button type="button" class="toggle" aria-expanded=${open} aria-label=${`${open ? 'Close' : 'Open'} ${row.agentId} (${row.childCount} agents)`} onClick=${() => setOpen(!open)}>${open ? '▾' : '▸'}</button>`
          : html`<span class="toggle-space" aria-hidden="true"></span>`}
        <a href=${`#/sessions/${encodeURIComponent(row.id)}`}>${row.agentId}</a>
        ${row.childCount > 0 ? html` <span class="muted">crew · ${row.childCount}</span>` : ''}
        ${row.flagged ? html` <span class="badge warn">flagged</span>` : ''}
      </td>
      <td><span class=${`state ${row.state}`}>${row.state}</span></td>
      <td>
        <${SpendBar} spent=${row.spentUsd} reserved=${row.reservedUsd} limit=${row.limitUsd} />
        ${row.windows.length > 0 ? html`<div class="muted windows">${row.windows.map((window) => `${window.label} ${percent(window.percent)}`).join(' · ')}</div>` : ''}
      </td>
      <td>${percent(row.percent)}</td>
      <td class="muted">${when(row.createdAt)}</td>
    </tr>
    ${open && children.data ? children.data.rows.map((child) => html`<${SessionTreeRow} key=${child.id} row=${child} depth=${depth + 1} tick=${tick} />`) : ''}
  `
}

/** The sessions list: filters and paging run on the server; without filters it is the tree of crews and lone sessions. */
export function SessionsView({ tick }: { tick: number }) {
  const [q, setQ] = useState('')
  const [state, setState] = useState('any')
  const [over80, setOver80] = useState(false)
  const [flagged, setFlagged] = useState(false)
  const [page, setPage] = useState(1)
  const result = useData(() => get<SessionPage>('/sessions', { q, state, over80: over80 ? 1 : 0, flagged: flagged ? 1 : 0, page, pageSize: PAGE_SIZE }), [q, state, over80, flagged, page, tick])
  const data = result.data
  const pages = data ? Math.max(1, Math.ceil(data.total / PAGE_SIZE)) : 1
  const filter = (apply: () => void) => {
    apply()
    setPage(1)
  }
  return html`<section aria-labelledby="sessions-heading">
    <h2 id="sessions-heading">Sessions</h2>
    <form class="filters" role="search" onSubmit=${(event: Event) => event.preventDefault()}>
      <label>Search agent or id <input type="search" name="q" value=${q} onInput=${(event: Event) => filter(() => setQ((event.target as HTMLInputElement).value))} /></label>
      <label>State
        <select name="state" value=${state} onChange=${(event: Event) => filter(() => setState((event.target as HTMLSelectElement).value))}>
          <option value="any">any</option><option value="live">live</option><option value="expired">expired</option><option value="revoked">revoked</option>
        </select>
      </label>
      <label><input type="checkbox" checked=${over80} onChange=${(event: Event) => filter(() => setOver80((event.target as HTMLInputElement).checked))} /> Over 80 %</label>
      <label><input type="checkbox" checked=${flagged} onChange=${(event: Event) => filter(() => setFlagged((event.target as HTMLInputElement).checked))} /> Flagged</label>
    </form>
    ${result.error && html`<p role="alert" class="error">${result.error.message}</p>`}
    <p class="muted" aria-live="polite">${data ? `${data.total} ${data.mode === 'tree' ? 'crews and sessions' : data.total === 1 ? 'matching session' : 'matching sessions'}` : 'Loading…'}</p>
    <div class="table-wrap">
      <table>
        <thead><tr><th scope="col">Agent</th><th scope="col">State</th><th scope="col">Spend vs limit</th><th scope="col">Used</th><th scope="col">Created</th></tr></thead>
        <tbody>${data?.rows.map((row) => html`<${SessionTreeRow} key=${row.id} row=${row} depth=${0} tick=${tick} />`)}</tbody>
      </table>
    </div>
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled=${page <= 1} onClick=${() => setPage(page - 1)}>Previous</button>
      <span>Page ${page} of ${pages}</span>
      <button type="button" disabled=${page >= pages} onClick=${() => setPage(page + 1)}>Next</button>
    </nav>
  </section>`
}
