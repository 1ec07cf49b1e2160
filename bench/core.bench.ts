// Governed call vs bare call on the memory backend, in the same run.
// Target (issue #2): p50 ≤ 10 µs and p99 ≤ 50 µs per governed call (gate + settle + HMAC audit).
// With HALDIR_BASELINE=<checkout of an earlier commit, built>, the same calls through that
// build's @haldir/core run interleaved with this one's, each round in a worker thread of its own
// (core-round.ts), and the ratio is reported; so does
// sealing one settle entry with each build's seal.
import * as current from '@haldir/core'
import { Worker } from 'node:worker_threads'
import { type Core, governedCall } from './governed-call.ts'
import { interleaved, type Measurement, measure, report } from './measure.ts'

const calls = Number(process.env.BENCH_CALLS ?? 100_000)
const baselinePath = process.env.HALDIR_BASELINE

const mine = await governedCall(current, 'this commit')
const bare = await measure('bare async call', () => mine.search('haldir'), { calls })

if (baselinePath) {
  const baseline = (await import(`${baselinePath}/packages/core/dist/index.js`)) as Core
  // Each round in a worker of its own (see core-round.ts): a fresh heap and backend every round.
  const round = (corePath: string | null, label: string) =>
    new Promise<Measurement>((resolve, reject) => {
      const worker = new Worker(new URL('./core-round.ts', import.meta.url), { workerData: { corePath, label, calls } })
      worker.once('message', (measurement: Measurement) => resolve(measurement))
      worker.once('error', reject)
      worker.once('exit', (code) => reject(new Error(`round ${label} exited with ${code} before it reported`)))
    })
  const [now, before] = await interleaved([
    { name: 'withHaldir, this commit', run: () => round(null, 'withHaldir, this commit') },
    { name: `withHaldir, baseline (${baselinePath})`, run: () => round(`${baselinePath}/packages/core/dist/index.js`, 'withHaldir, baseline') },
  ])
  report('core: governed call, this commit vs baseline (interleaved rounds, medians)', before as never, [now as never])

  // Sealing one entry (canonical body, HMAC, ledger leaf), most of a governed call's work: a
  // governed call's settle entry taken from each build's own trail (its ledger mark as that build
  // writes it), sealed again and again by that build.
  type Kit = typeof import('@haldir/core/backend')
  const sealer = async (core: Core, kit: Kit) => {
    const fresh = await governedCall(core, 'seal')
    await fresh.governed('haldir')
    const { entries } = await fresh.haldir.getAuditTrail({ sessionId: fresh.session.id })
    const settled = entries.find((entry) => entry.action === 'execute')
    if (!settled) throw new Error('no execute entry in the trail')
    const key = { id: 'bench', key: new Uint8Array(32) }
    const head = { seq: 0, hash: kit.GENESIS_HASH }
    const outputs = { bytes: 0, leaves: [] as string[] }
    return () => {
      outputs.leaves.length = 0
      return kit.sealAuditEntry(key, head, { ...settled }, outputs)
    }
  }
  const currentKit = await import('@haldir/core/backend')
  const baselineKit = (await import(`${baselinePath}/packages/core/dist/backend/index.js`)) as Kit
  const sealNow = await sealer(current, currentKit)
  const sealBefore = await sealer(baseline, baselineKit)
  const [sealedNow, sealedBefore] = await interleaved([
    { name: 'seal a settle entry, this commit', run: () => measure('seal a settle entry, this commit', sealNow, { calls }) },
    { name: 'seal a settle entry, baseline', run: () => measure('seal a settle entry, baseline', sealBefore, { calls }) },
  ])
  report('core: sealing one settle entry, this commit vs baseline (interleaved rounds, medians)', sealedBefore as never, [sealedNow as never])
} else {
  const { haldir, session } = mine
  const governedNoArgs = current.withHaldir(mine.search, { haldir, sessionId: session.id, scope: 'search', auditName: 'search', cost: 0.001, recordInput: false })
  const full = await measure('withHaldir (args audited)', () => mine.governed('haldir'), { calls })
  const lean = await measure('withHaldir (recordInput: false)', () => governedNoArgs('haldir'), { calls })
  const payment = await measure('authorizePayment', () => haldir.authorizePayment(session.id, 0.001), { calls })
  const check = await measure('checkPermission', () => haldir.checkPermission(session.id, 'search'), { calls })
  report('core: memory backend, sequential', bare, [full, lean, payment, check])
  const verified = await haldir.verifyAuditTrail(session.id)
  console.log(`\naudit entries written: ${verified.count}, chain ok: ${verified.ok}`)
}
