import { type AuditEntry, nodeKey, peaksOf, type StateStore, type TreeHead } from '@haldir/core/backend'
import type pg from 'pg'
import type { SnapshotQuery } from './read-in-snapshot.ts'
import { inBatchedTransaction } from './batched-transaction.ts'
import { AUDIT_COLUMNS, type AuditRow, toAuditEntry } from './rows.ts'
import { raw, sql } from './sql-text.ts'

type LedgerMembers = Pick<
  StateStore,
  'extendLog' | 'logSize' | 'readLogNodes' | 'leafIndexOf' | 'readLogEntries' | 'recordTreeHead' | 'treeHeads' | 'tenantsWithPendingEntries' | 'readSubtree' | 'sessionIds'
>

interface HeadRow {
  tree_size: string
  root_hash: string
  signed_at: string
  signature: string
  key_id: string
  public_key: string
}

const toHead = (row: HeadRow): TreeHead => ({
  treeSize: Number(row.tree_size),
  rootHash: row.root_hash,
  signedAt: Number(row.signed_at),
  signature: row.signature,
  algorithm: 'Ed25519-over-canonical-sth',
  publicKey: row.public_key,
  keyId: row.key_id,
})

/**
 * The ledger's tables: leaves (which entry is which leaf), complete nodes, the sequencer's state
 * and the tree-head log. Nothing here runs on a governed call: entries join the log when a head,
 * a proof or an export asks, in batches.
 *
 * Order: an entry joins in (txid, position) order once every transaction older than the
 * sequencer's snapshot `xmin` has finished, so a transaction still running can never add an entry
 * before one already in the log; the sequencer remembers that `xmin` as its horizon.
 */
export function postgresLedger(options: {
  pool: pg.Pool
  schema: string
  read: <T extends pg.QueryResultRow>(text: string, values: unknown[]) => Promise<T[]>
  /** Reads that must see one snapshot. */
  inSnapshot: <T>(work: (query: SnapshotQuery) => Promise<T>) => Promise<T>
}): LedgerMembers {
  const { pool, schema, read, inSnapshot } = options
  const t = (table: string) => `${schema}.${table}`
  const T = (table: string) => raw(t(table))

  return {
    extendLog: (tenant, limit, extend) =>
      inBatchedTransaction(pool, async (transaction) => {
        const [, stateRows, snapshotRows] = await transaction.run(
          sql`select pg_advisory_xact_lock(hashtext(${`haldir-ledger:${schema}:${tenant}`}))`,
          sql`select size, horizon::text as horizon from ${T('ledger_state')} where tenant = ${tenant}`,
          sql`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`,
        )
        const state = stateRows?.[0] as { size: string; horizon: string } | undefined
        const size = Number(state?.size ?? 0)
        const horizon = state?.horizon ?? '0'
        const xmin = (snapshotRows?.[0] as { xmin: string }).xmin
        const peaks = peaksOf(size)
        const [pendingRows, peakRows] = await transaction.run(
          sql`select ${raw(AUDIT_COLUMNS)}, leaf_hash from ${T('audit_entries')} a
              where a.tenant = ${tenant} and a.txid >= ${horizon}::xid8 and a.txid < ${xmin}::xid8
                and not exists (select 1 from ${T('ledger_leaves')} l where l.tenant = ${tenant} and l.entry_id = a.id)
              order by a.txid, a.position limit ${limit + 1}`,
          peaks.length === 0
            ? 'select 1 where false'
            : sql`select level, idx, hash from ${T('ledger_nodes')} where tenant = ${tenant} and (level, idx) in (${raw(peaks.map((key) => `(${key.level}, ${key.index})`).join(', '))})`,
        )
        const rows = pendingRows as (AuditRow & { leaf_hash: string | null })[]
        const peakHash = new Map((peakRows as { level: number; idx: string; hash: string }[]).map((row) => [nodeKey(row.level, Number(row.idx)), row.hash]))
        const taken = rows.slice(0, limit)
        const extension = extend({
          size,
          peaks: peaks.map((key) => peakHash.get(nodeKey(key.level, key.index)) as string),
          pendingCount: taken.length,
          pendingEntry: (offset) => toAuditEntry(taken[offset] as AuditRow),
          leafHashes: taken.map((row) => row.leaf_hash),
        })
        const drained = rows.length <= limit
        if (extension.size > size) {
          transaction.write(
            `insert into ${t('ledger_leaves')} (tenant, leaf_index, entry_id, session_id) values ${taken
              .slice(0, extension.size - size)
              .map((row, offset) => sql`(${tenant}, ${size + offset}, ${row.id}, ${row.session_id})`)
              .join(', ')}`,
          )
          transaction.write(`insert into ${t('ledger_nodes')} (tenant, level, idx, hash) values ${extension.nodes.map((node) => sql`(${tenant}, ${node.level}, ${node.index}, ${node.hash})`).join(', ')}`)
        }
        // The horizon moves only once the window below the snapshot is drained.
        transaction.write(
          sql`insert into ${T('ledger_state')} (tenant, size, horizon) values (${tenant}, ${extension.size}, ${drained ? xmin : horizon}::xid8)
              on conflict (tenant) do update set size = excluded.size, horizon = excluded.horizon`,
        )
        return extension.size
      }),

    async logSize(tenant) {
      const rows = await read<{ size: string }>(`select size from ${t('ledger_state')} where tenant = $1`, [tenant])
      return Number(rows[0]?.size ?? 0)
    },

    async readLogNodes(tenant, keys) {
      const out = new Map<string, string>()
      if (keys.length === 0) return out
      const rows = await read<{ level: number; idx: string; hash: string }>(
        `select n.level, n.idx, n.hash from ${t('ledger_nodes')} n join unnest($2::smallint[], $3::bigint[]) as k(level, idx) on n.level = k.level and n.idx = k.idx where n.tenant = $1`,
        [tenant, keys.map((key) => key.level), keys.map((key) => key.index)],
      )
      for (const row of rows) out.set(nodeKey(row.level, Number(row.idx)), row.hash)
      return out
    },

    async leafIndexOf(tenant, entryId) {
      const rows = await read<{ leaf_index: string }>(`select leaf_index from ${t('ledger_leaves')} where tenant = $1 and entry_id = $2`, [tenant, entryId])
      return rows[0] ? Number(rows[0].leaf_index) : null
    },

    async readLogEntries(tenant, from, limit) {
      const columns = AUDIT_COLUMNS.split(', ')
        .map((column) => `a.${column}`)
        .join(', ')
      const rows = await read<{ leaf_index: string } & Partial<AuditRow>>(
        `select l.leaf_index, ${columns} from ${t('ledger_leaves')} l left join ${t('audit_entries')} a on a.id = l.entry_id
         where l.tenant = $1 and l.leaf_index >= $2 order by l.leaf_index limit $3`,
        [tenant, from, limit],
      )
      return rows.map((row) => ({ leafIndex: Number(row.leaf_index), entry: row.id ? toAuditEntry(row as AuditRow) : null }))
    },

    async recordTreeHead(tenant, head) {
      await read(
        `insert into ${t('tree_heads')} (tenant, tree_size, root_hash, signed_at, signature, key_id, public_key) values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing`,
        [tenant, head.treeSize, head.rootHash, head.signedAt, head.signature, head.keyId, head.publicKey],
      )
    },

    async treeHeads(tenant, sinceSize, limit) {
      const rows = await read<HeadRow>(`select * from ${t('tree_heads')} where tenant = $1 and tree_size > $2 order by tree_size limit $3`, [tenant, sinceSize, limit])
      return rows.map(toHead)
    },

    async tenantsWithPendingEntries() {
      const rows = await read<{ tenant: string }>(
        `select distinct a.tenant from ${t('audit_entries')} a left join ${t('ledger_state')} s on s.tenant = a.tenant
         where a.txid >= coalesce(s.horizon, '0'::xid8) and not exists (select 1 from ${t('ledger_leaves')} l where l.tenant = a.tenant and l.entry_id = a.id)`,
        [],
      )
      return rows.map((row) => row.tenant)
    },

    readSubtree: (tenant, sessionId) =>
      // Counters and the entries that re-derive them from one snapshot: a write landing between the reads would look like a mismatch.
      inSnapshot(async (query) => {
        const sessions = await query<{ id: string; spent_micros: string; reserved_micros: string; slice_free_micros: string; slice_spent_micros: string }>(
          `select id, spent_micros, reserved_micros, slice_free_micros, slice_spent_micros from ${t('sessions')} where tenant = $1 and (id = $2 or $2 = any(ancestors))`,
          [tenant, sessionId],
        )
        const root = sessions.find((row) => row.id === sessionId)
        if (!root) return null
        // Descendants' slices counted where their money went, as `readSpend` counts them.
        let spent = Number(root.spent_micros)
        let reserved = Number(root.reserved_micros)
        for (const row of sessions) {
          if (row === root) continue
          spent += Number(row.slice_spent_micros)
          reserved -= Number(row.slice_free_micros) + Number(row.slice_spent_micros)
        }
        const rows = await query<AuditRow>(
          `select ${AUDIT_COLUMNS} from ${t('audit_entries')} where session_id = any($1) and (ledger is not null or action = 'session.create') order by position`,
          [sessions.map((row) => row.id)],
        )
        const trails = new Map<string, AuditEntry[]>(sessions.map((row) => [row.id, []]))
        for (const row of rows) trails.get(row.session_id)?.push(toAuditEntry(row))
        return { spentMicros: spent, reservedMicros: reserved, trails: [...trails.values()] }
      }),

    async sessionIds(tenant) {
      return (await read<{ id: string }>(`select id from ${t('sessions')} where tenant = $1 order by created_at_ms`, [tenant])).map((row) => row.id)
    },
  }
}
