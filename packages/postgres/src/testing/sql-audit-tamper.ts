import { type AuditEntry, usdToMicros } from '@haldir/core/backend'
import type { AuditTamper } from '@haldir/core/testing'
import type pg from 'pg'

const columns: Partial<Record<keyof AuditEntry, string>> = { costUsd: 'cost_micros', hash: 'hash', reason: 'reason', tool: 'tool', outcome: 'outcome' }

/**
 * Tampering as someone with owner rights on the database would: the append-only trigger is
 * switched off around each edit, so only the hash chain stands between them and a clean trail.
 */
export function sqlAuditTamper(pool: pg.Pool, schema: string): AuditTamper {
  const table = `${schema}.audit_entries`
  const unguarded = async (work: (client: pg.PoolClient) => Promise<void>) => {
    const client = await pool.connect()
    try {
      await client.query('begin')
      await client.query(`alter table ${table} disable trigger audit_append_only`)
      await work(client)
      await client.query(`alter table ${table} enable trigger audit_append_only`)
      await client.query('commit')
    } catch (error) {
      await client.query('rollback')
      throw error
    } finally {
      client.release()
    }
  }
  return {
    edit: (sessionId, seq, patch) =>
      unguarded(async (client) => {
        for (const [key, value] of Object.entries(patch)) {
          const column = columns[key as keyof AuditEntry]
          if (!column) throw new Error(`no column mapped for ${key}`)
          await client.query(`update ${table} set ${column} = $3 where session_id = $1 and seq = $2`, [sessionId, seq, key === 'costUsd' ? usdToMicros(value, 'costUsd') : value])
        }
      }),
    remove: (sessionId, seq) => unguarded(async (client) => void (await client.query(`delete from ${table} where session_id = $1 and seq = $2`, [sessionId, seq]))),
    cutTail: (sessionId, keep) =>
      unguarded(async (client) => {
        await client.query(`delete from ${table} where session_id = $1 and seq > $2`, [sessionId, keep])
        await client.query(`update ${schema}.sessions s set audit_seq = a.seq, audit_head = a.hash from ${table} a where s.id = $1 and a.session_id = $1 and a.seq = $2`, [sessionId, keep])
      }),
    deleteTrail: (sessionId) =>
      unguarded(async (client) => {
        await client.query(`delete from ${table} where session_id = $1`, [sessionId])
        await client.query(`delete from ${schema}.holds where session_id = $1`, [sessionId])
        await client.query(`delete from ${schema}.sessions where id = $1`, [sessionId])
      }),
    async setCounters(sessionId, counters) {
      if (counters.spentMicros !== undefined) await pool.query(`update ${schema}.sessions set spent_micros = $2 where id = $1`, [sessionId, counters.spentMicros])
      if (counters.reservedMicros !== undefined) await pool.query(`update ${schema}.sessions set reserved_micros = $2 where id = $1`, [sessionId, counters.reservedMicros])
    },
    // A row copied or rewritten with plain SQL: no trigger guards the secrets table, only the seal does.
    async rebindSecret(tenant, name, change) {
      const secrets = `${schema}.secrets`
      if (change.toTenant !== undefined) {
        await pool.query(
          `insert into ${secrets} (tenant, name, key_id, nonce, ciphertext, tag, scope_required, updated_at_ms, format)
           select $3, name, key_id, nonce, ciphertext, tag, scope_required, updated_at_ms, format from ${secrets} where tenant = $1 and name = $2`,
          [tenant, name, change.toTenant],
        )
      }
      if (change.scopeRequired !== undefined) {
        await pool.query(`update ${secrets} set scope_required = $3 where tenant = $1 and name = $2`, [change.toTenant ?? tenant, name, change.scopeRequired])
      }
    },
    swap: (sessionId, seqA, seqB) =>
      unguarded(async (client) => {
        const { rows } = await client.query<{ seq: string; position: string }>(`select seq, position from ${table} where session_id = $1 and seq = any($2)`, [sessionId, [seqA, seqB]])
        const a = rows.find((row) => Number(row.seq) === seqA)
        const b = rows.find((row) => Number(row.seq) === seqB)
        if (!a || !b) throw new Error('entries to swap not found')
        await client.query(`update ${table} set position = -position where position = any($1)`, [[a.position, b.position]])
        await client.query(`update ${table} set position = $2 where position = -$1::bigint`, [a.position, b.position])
        await client.query(`update ${table} set position = $2 where position = -$1::bigint`, [b.position, a.position])
      }),
  }
}
