import { html } from './html.ts'
import { usd } from './format.ts'

const WIDTH = 320
const HEIGHT = 120

/** Cumulative spend over time as an inline SVG line (no chart library: the CSP allows only our own script). */
export function SpendOverTimeChart({ points }: { points: { at: string; totalUsd: number }[] }) {
  if (points.length === 0) return html`<p class="muted">No spend yet.</p>`
  const times = points.map((point) => Date.parse(point.at))
  const first = Math.min(...times)
  const span = Math.max(1, Math.max(...times) - first)
  const top = Math.max(...points.map((point) => point.totalUsd)) || 1
  // From zero at the first charge, so a single charge still draws a step rather than a dot.
  const path = `M0,${HEIGHT} ` + points.map((point, index) => `L${(((times[index] as number) - first) / span) * WIDTH},${HEIGHT - (point.totalUsd / top) * HEIGHT}`).join(' ')
  const last = points[points.length - 1] as { totalUsd: number }
  return html`<figure>
    <svg viewBox="0 0 ${WIDTH} ${HEIGHT}" width="100%" height=${HEIGHT} role="img" aria-label=${`Spend over time, reaching ${usd(last.totalUsd)}`} class="chart">
      <path d=${path} class="line" />
    </svg>
    <figcaption>Spend over time (cumulative, ${usd(last.totalUsd)})</figcaption>
  </figure>`
}

/** Spend by tool, or by model, as horizontal SVG bars, largest first. */
export function SpendBreakdownChart({ amounts, by }: { amounts: Record<string, number>; by: 'tool' | 'model' }) {
  const rows = Object.entries(amounts).sort((a, b) => b[1] - a[1]).slice(0, 10)
  if (rows.length === 0) return html`<p class="muted">No spend by ${by} yet.</p>`
  const top = rows[0]?.[1] || 1
  const rowHeight = 22
  return html`<figure>
    <svg viewBox="0 0 ${WIDTH} ${rows.length * rowHeight}" width="100%" height=${rows.length * rowHeight} role="img" aria-label=${`Spend by ${by}`} class="chart">
      ${rows.map(
        ([tool, amount], index) => html`<g>
          <rect x="120" y=${index * rowHeight + 3} width=${Math.max(1, (amount / top) * (WIDTH - 200))} height=${rowHeight - 6} class="bar" />
          <text x="116" y=${index * rowHeight + 15} text-anchor="end">${tool.slice(0, 18)}</text>
          <text x=${124 + Math.max(1, (amount / top) * (WIDTH - 200))} y=${index * rowHeight + 15}>${usd(amount)}</text>
        </g>`,
      )}
    </svg>
    <figcaption>Spend by ${by}</figcaption>
  </figure>`
}

/** A spend bar: spent and reserved against the limit; red from 80 %. */
export function SpendBar({ spent, reserved, limit }: { spent: number; reserved: number; limit: number | null }) {
  if (limit === null || limit === 0) return html`<span class="muted">${usd(spent)} (no limit)</span>`
  const spentShare = Math.min(100, (spent / limit) * 100)
  const reservedShare = Math.min(100 - spentShare, (reserved / limit) * 100)
  const hot = spentShare + reservedShare >= 80
  return html`<span class="spend">
    <svg width="80" height="10" viewBox="0 0 100 10" aria-hidden="true" class=${hot ? 'meter hot' : 'meter'}>
      <rect x="0" y="0" width="100" height="10" class="track" />
      <rect x="0" y="0" width=${spentShare} height="10" class="spent" />
      <rect x=${spentShare} y="0" width=${reservedShare} height="10" class="reserved" />
    </svg>
    <span>${usd(spent)} / ${usd(limit)}${reserved > 0 ? html` <span class="muted">(+${usd(reserved)} held)</span>` : ''}</span>
  </span>`
}
