import { sha256Hasher } from '#crypto'
import type { AuditEntry } from '../audit/audit-entry.ts'
import type { Haldir } from '../types.ts'
import type { TreeHead } from './tree-head.ts'

/** The last line of a bundle: what it holds, and the signed head its entries are consistent with. */
export interface BundleManifest {
  type: 'manifest'
  formatVersion: 1
  /** `tenant`: every leaf of the log up to the head, in order; `session`: one session's entries, each with its audit path. */
  scope: { kind: 'tenant' } | { kind: 'session'; sessionId: string }
  count: number
  firstTimestamp: string | null
  lastTimestamp: string | null
  /** SHA-256 over each exported entry id followed by `\n`, in export order. */
  sha256: string
  treeHead: TreeHead
  /** With `earlierSize`: the proof that the log of that size is a prefix of the head's. */
  consistency: { first: number; firstRoot: string; path: string[] } | null
  generatedAt: string
}

/** One entry line of a JSONL bundle. */
export interface BundleEntry {
  type: 'entry'
  leafIndex: number
  entry: AuditEntry
  /** Session bundles: the entry's audit path in the head's tree. */
  auditPath?: string[]
}

export interface ExportOptions {
  /** One session's entries (with proofs); omitted: the whole tenant's log. */
  sessionId?: string
  /** The size of a head the verifier kept: the manifest carries the proof that the log only grew since. */
  earlierSize?: number
  /** Entries read per request. @default 1000 */
  pageSize?: number
}

const CSV_COLUMNS = ['leaf_index', 'id', 'session_id', 'agent_id', 'seq', 'timestamp', 'tool', 'action', 'scope', 'outcome', 'flagged', 'reason', 'cost_usd', 'details_json', 'ledger_json', 'key_id', 'prev_hash', 'hash'] as const

/**
 * A tenant's or a session's audit entries as a bundle anyone can check offline with the ledger's
 * public key alone (`verifyBundle`, `haldir verify --bundle`): the entries, read page by page
 * (bounded memory at any size), then a manifest carrying the signed head they are consistent
 * with. A tenant bundle holds every leaf up to the head; a session bundle holds each entry's
 * audit path. Turn the records into text with `bundleLines`.
 *
 * @example
 * for await (const line of bundleLines(exportBundle(haldir, { sessionId }), 'jsonl')) process.stdout.write(line)
 */
export async function* exportBundle(haldir: Haldir, options: ExportOptions = {}): AsyncGenerator<BundleEntry | BundleManifest> {
  const pageSize = options.pageSize ?? 1000
  const head = await haldir.getTreeHead()
  const ids = sha256Hasher()
  let count = 0
  let firstTimestamp: string | null = null
  let lastTimestamp: string | null = null
  const counted = (line: BundleEntry): BundleEntry => {
    ids.update(`${line.entry.id}\n`)
    count++
    firstTimestamp ??= line.entry.timestamp
    lastTimestamp = line.entry.timestamp
    return line
  }
  if (options.sessionId === undefined) {
    for (let from = 0; from < head.treeSize; from += pageSize) {
      const page = await haldir.readLedger({ from, limit: Math.min(pageSize, head.treeSize - from) })
      for (const { leafIndex, entry } of page.entries) if (leafIndex < head.treeSize) yield counted({ type: 'entry', leafIndex, entry })
    }
  } else {
    for (let offset: number | null = 0; offset !== null; ) {
      const page = await haldir.getAuditTrail({ sessionId: options.sessionId, offset, limit: pageSize })
      for (const entry of page.entries) {
        // Entries written after the head are not part of this bundle.
        const proof = await haldir.getInclusionProof(entry.id, { treeSize: head.treeSize }).catch(() => null)
        if (proof) yield counted({ type: 'entry', leafIndex: proof.leafIndex, entry, auditPath: proof.auditPath })
      }
      offset = page.nextOffset
    }
  }
  let consistency: BundleManifest['consistency'] = null
  if (options.earlierSize !== undefined && options.earlierSize >= 1 && options.earlierSize <= head.treeSize) {
    const proof = await haldir.getConsistencyProof(options.earlierSize, head.treeSize)
    consistency = { first: proof.first, firstRoot: proof.firstRoot, path: proof.path }
  }
  yield {
    type: 'manifest',
    formatVersion: 1,
    scope: options.sessionId === undefined ? { kind: 'tenant' } : { kind: 'session', sessionId: options.sessionId },
    count,
    firstTimestamp,
    lastTimestamp,
    sha256: ids.hex(),
    treeHead: head,
    consistency,
    generatedAt: new Date().toISOString(),
  }
}

/**
 * A bundle as text: `jsonl`, one record per line with the manifest last (what `verifyBundle`
 * reads), or `csv` for spreadsheets (entries only; the manifest goes to `onManifest`).
 */
export async function* bundleLines(records: AsyncIterable<BundleEntry | BundleManifest>, format: 'jsonl' | 'csv', onManifest?: (manifest: BundleManifest) => void): AsyncGenerator<string> {
  if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\n`
  for await (const record of records) {
    if (record.type === 'manifest') onManifest?.(record)
    if (format === 'jsonl') yield `${JSON.stringify(record)}\n`
    else if (record.type === 'entry') yield csvRow(record)
  }
}

function csvRow(line: BundleEntry): string {
  const { entry } = line
  const cells = [
    line.leafIndex,
    entry.id,
    entry.sessionId,
    entry.agentId,
    entry.seq,
    entry.timestamp,
    entry.tool,
    entry.action,
    entry.scope ?? '',
    entry.outcome,
    entry.flagged,
    entry.reason ?? '',
    entry.costUsd,
    JSON.stringify(entry.details),
    entry.ledger ? JSON.stringify(entry.ledger) : '',
    entry.keyId,
    entry.prevHash,
    entry.hash,
  ]
  return `${cells.map((cell) => csvCell(String(cell))).join(',')}\n`
}

// RFC 4180 quoting; a text cell starting with = + - @ gets a leading ' so a spreadsheet never runs it
// as a formula (CSV is for reading; verification reads JSONL).
function csvCell(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe
}
