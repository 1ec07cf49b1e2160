// The ledger (issue #12):
// 1. governed calls/s with the log on vs off, same run, interleaved rounds (target ≥ 0.9×). "On"
//    publishes a signed head every LEDGER_EVERY calls while the calls run, so every entry is
//    sequenced (leaf hashed, nodes built) inside the measured time.
// 2. tree-head and inclusion-proof latency on PostgreSQL at 10k, 100k and 1M entries (target
//    < 10 ms each at 1M). The log is filled with real sealed entries written straight into the
//    table (the API would take minutes for 1M), then sequenced once.
import { createHaldir, memoryBackend, withHaldir } from '@haldir/core'
import { type AuditEntry, canonicalJson, GENESIS_HASH, sealAuditEntry } from '@haldir/core/backend'
import { interleaved, type Measurement, measure, report } from './measure.ts'

const calls = Number(process.env.BENCH_CALLS ?? 30_000)
const publishEvery = Number(process.env.LEDGER_EVERY ?? 1000)
const sizes = (process.env.LEDGER_SIZES ?? '10000,100000,1000000').split(',').map(Number)

async function governedLoop(ledgerOn: boolean): Promise<() => Promise<unknown>> {
  // Off: no leaf hashes at seal time, no sequencing, no heads.
  const backend = memoryBackend({ ledger: ledgerOn })
  const haldir = createHaldir({ backend })
  const session = await haldir.createSession({ agentId: 'bench', scopes: ['search'], spendLimit: null, ttl: 86_400 })
  const search = withHaldir(async (query: string) => ({ query, hits: 3 }), { haldir, sessionId: session.id, scope: 'search', auditName: 'search', cost: 0.001 })
  let count = 0
  return async () => {
    await search('haldir')
    if (ledgerOn && ++count % publishEvery === 0) await backend.publishTreeHeads?.()
  }
}

// Each round gets fresh backends, so both variants run on heaps of the same age and size.
const round = (ledgerOn: boolean) => async () => measure(ledgerOn ? 'ledger on' : 'ledger off', await governedLoop(ledgerOn), { calls, warmup: 2000 })
const [withLog, withoutLog] = (await interleaved([
  { name: `governed call, ledger on (head every ${publishEvery} calls)`, run: round(true) },
  { name: 'governed call, ledger off', run: round(false) },
])) as [Measurement, Measurement]
report('ledger: memory backend, log on vs off (interleaved rounds, fresh backends, medians)', withoutLog, [withLog])
console.log(`\nthroughput ratio on/off: ${(withLog.callsPerSecond / withoutLog.callsPerSecond).toFixed(3)} (target ≥ 0.9)`)

// ---- PostgreSQL: tree head and inclusion proof at scale ----
const { databaseUnavailable, dropSchema, testDatabaseUrl, testMasterKey, testSchema } = await import('@haldir/postgres/testing')
const unavailable = await databaseUnavailable()
if (unavailable) {
  console.log(`\nPostgreSQL part skipped: ${unavailable}`)
} else {
  const { postgresBackend } = await import('@haldir/postgres')
  const schema = testSchema()
  const backend = postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema, poolSize: 4 })
  await backend.migrate()
  const haldir = createHaldir({ backend, tenant: 'scale' })
  const session = await haldir.createSession({ agentId: 'scale', spendLimit: null })
  const auditKey = { id: 'bench', key: new Uint8Array(32) }
  let head = { seq: 1, hash: GENESIS_HASH }
  let written = 1
  const rows: string[] = []
  const flush = async () => {
    if (rows.length === 0) return
    await backend.pool.query(
      `insert into ${schema}.audit_entries (id, key_id, tenant, session_id, agent_id, seq, timestamp, tool, action, scope, outcome, flagged, reason, cost_micros, details, ledger, prev_hash, hash) values ${rows.join(',')}`,
    )
    rows.length = 0
  }
  const esc = (value: string) => `'${value.replaceAll("'", "''")}'`
  console.log('\nledger: PostgreSQL, tree head and inclusion proof latency')
  console.log('| entries | fill + sequence s | tree head p50 ms | tree head p99 ms | inclusion proof p50 ms | inclusion proof p99 ms |')
  console.log('|---:|---:|---:|---:|---:|---:|')
  for (const size of sizes) {
    const started = performance.now()
    // The trail continues the session's chain: real sealed entries, written in bulk.
    while (written < size) {
      const entry = sealAuditEntry(auditKey, head, {
        id: `aud_${String(written).padStart(9, '0')}`,
        sessionId: session.id,
        agentId: 'scale',
        timestamp: new Date(1_800_000_000_000 + written).toISOString(),
        tool: 'search',
        action: 'execute',
        scope: 'search',
        outcome: 'ok',
        flagged: false,
        reason: null,
        costUsd: 0.001,
        details: { args: ['haldir'], index: written },
      }) as AuditEntry
      head = { seq: entry.seq, hash: entry.hash }
      rows.push(
        `(${esc(entry.id)}, 'bench', 'scale', ${esc(session.id)}, 'scale', ${entry.seq}, ${esc(entry.timestamp)}, 'search', 'execute', 'search', 'ok', false, null, 1000, ${esc(canonicalJson(entry.details))}::jsonb, null, ${esc(entry.prevHash)}, ${esc(entry.hash)})`,
      )
      written++
      if (rows.length >= 5000) await flush()
    }
    await flush()
    await haldir.getTreeHead() // sequences everything new
    const fillSeconds = (performance.now() - started) / 1000
    const treeHead = await measure(`tree head at ${size}`, () => haldir.getTreeHead(), { calls: 200, warmup: 20 })
    let probe = 0
    const proof = await measure(`inclusion proof at ${size}`, () => haldir.getInclusionProof(`aud_${String(1 + ((probe += 7919) % (size - 1))).padStart(9, '0')}`), { calls: 200, warmup: 20 })
    console.log(`| ${size.toLocaleString('en-US')} | ${fillSeconds.toFixed(1)} | ${(treeHead.p50Us / 1000).toFixed(2)} | ${(treeHead.p99Us / 1000).toFixed(2)} | ${(proof.p50Us / 1000).toFixed(2)} | ${(proof.p99Us / 1000).toFixed(2)} |`)
  }
  await backend.close()
  await dropSchema(schema)
}
