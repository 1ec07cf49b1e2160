import { createHash } from 'node:crypto'
import type { AuditEntry } from '@haldir/core'
import { toUpstreamEntry } from './to-upstream-entry.ts'

/** The filters of an export, as upstream's manifest names those that were set. */
export interface ExportFilters {
  session_id?: string
  agent_id?: string
  tool?: string
  /** Epoch seconds, inclusive. */
  since?: number
  /** Epoch seconds, exclusive. */
  until?: number
  flagged_only?: true
}

/** Upstream's export manifest (`HALDIR-API.md` §7.5): the last JSONL line, or `GET /v1/audit/export/manifest`. */
export interface ExportManifest {
  type: 'manifest'
  format_version: 1
  tenant_id: string
  generated_at: string
  filters: ExportFilters
  count: number
  first_timestamp: number | null
  last_timestamp: number | null
  last_chain_hash: string
  /** SHA-256 over each exported entry id followed by `\n`, in export order. */
  sha256: string
}

const CSV_HEADER = 'entry_id,timestamp,timestamp_iso,tenant_id,session_id,agent_id,tool,action,cost_usd,flagged,flag_reason,details_json,prev_hash,entry_hash\n'

/** UTC, to the second (`2026-11-24T12:00:00Z`). */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/**
 * Upstream's export, line by line (`HALDIR-API.md` §7.5): JSONL with the keys in upstream's
 * order and the manifest as the last line, or CSV with a header (its manifest is out of band).
 * Costs are exact (up to 6 decimals, never rounded to cents); chains are per session.
 */
export async function* upstreamExportLines(entries: AsyncIterable<AuditEntry>, options: { format: 'jsonl' | 'csv'; tenant: string; filters: ExportFilters }): AsyncGenerator<string> {
  const manifest = manifestBuilder(options.tenant, options.filters)
  if (options.format === 'csv') yield CSV_HEADER
  for await (const entry of entries) {
    manifest.add(entry)
    const line = toUpstreamEntry(entry)
    if (options.format === 'jsonl') {
      yield `${JSON.stringify({
        entry_id: line.entry_id,
        timestamp: line.timestamp,
        tenant_id: options.tenant,
        session_id: line.session_id,
        agent_id: line.agent_id,
        tool: line.tool,
        action: line.action,
        cost_usd: line.cost_usd,
        flagged: line.flagged,
        flag_reason: line.flag_reason,
        details: line.details,
        prev_hash: line.prev_hash,
        entry_hash: line.entry_hash,
      })}\n`
    } else {
      const cells = [
        line.entry_id,
        line.timestamp.toFixed(6),
        `${isoSeconds(new Date(entry.timestamp)).slice(0, -1)}+00:00`,
        options.tenant,
        line.session_id,
        line.agent_id,
        line.tool,
        line.action,
        String(line.cost_usd),
        String(line.flagged),
        line.flag_reason,
        JSON.stringify(line.details),
        line.prev_hash,
        line.entry_hash,
      ]
      yield `${cells.map(csvCell).join(',')}\n`
    }
  }
  if (options.format === 'jsonl') yield `${JSON.stringify(manifest.done())}\n`
}

/** The manifest of an export, without the entries. */
export async function exportManifest(entries: AsyncIterable<AuditEntry>, tenant: string, filters: ExportFilters): Promise<ExportManifest> {
  const manifest = manifestBuilder(tenant, filters)
  for await (const entry of entries) manifest.add(entry)
  return manifest.done()
}

function manifestBuilder(tenant: string, filters: ExportFilters) {
  const ids = createHash('sha256')
  let count = 0
  let first: number | null = null
  let last: number | null = null
  let lastHash = ''
  return {
    add(entry: AuditEntry) {
      ids.update(`${entry.id}\n`)
      count++
      const seconds = Date.parse(entry.timestamp) / 1000
      first ??= seconds
      last = seconds
      lastHash = entry.hash
    },
    done: (): ExportManifest => ({
      type: 'manifest',
      format_version: 1,
      tenant_id: tenant,
      generated_at: isoSeconds(new Date()),
      filters,
      count,
      first_timestamp: first,
      last_timestamp: last,
      last_chain_hash: lastHash,
      sha256: ids.digest('hex'),
    }),
  }
}

// RFC 4180 quoting; a cell starting with = + - @ gets a leading ' so a spreadsheet never runs it as a formula.
function csvCell(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe
}
