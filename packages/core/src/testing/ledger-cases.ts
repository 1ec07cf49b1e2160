import { createPublicKey, verify } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { HaldirBackend } from '../backend/haldir-backend.ts'
import { bundleLines, exportBundle } from '../ledger/export-bundle.ts'
import { entryLeafHash } from '../ledger/leaf-bytes.ts'
import { verifyBundle } from '../ledger/verify-bundle.ts'
import { treeHeadBytes } from '../ledger/tree-head.ts'
import { verifyConsistency, verifyInclusion } from '../ledger/verify-merkle.ts'
import type { CreateSessionOptions, Haldir, Session } from '../types.ts'
import type { AuditTamper } from './audit-tamper.ts'
import type { BackendUnderTest, ConformanceHook } from './test-backend.ts'

export interface LedgerContext {
  haldir: () => Haldir
  subject: () => BackendUnderTest
  tenant: () => string
  session: (extra?: Partial<CreateSessionOptions>) => Promise<Session>
  needs: (hook: ConformanceHook) => (title: string, fn: () => Promise<void>) => void
  /** A client of a tenant nobody else writes to. */
  cleanTenant: () => Haldir
}

/** Ed25519 over the canonical head bytes, checked with node:crypto alone (not the code under test). */
function signedBy(head: { treeSize: number; rootHash: string; signedAt: number; signature: string }, publicKey: string): boolean {
  const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(publicKey, 'hex')]), format: 'der', type: 'spki' })
  return verify(null, treeHeadBytes(head), key, Buffer.from(head.signature, 'hex'))
}

/**
 * The ledger every stateful backend keeps (issue "A ledger anyone can verify"): a signed,
 * append-only RFC 6962 log of every entry, proofs an outsider checks with the public key alone,
 * and balances re-derived from the entries.
 */
export function ledgerCases(context: LedgerContext): void {
  const { session, needs } = context
  const haldir = () => context.haldir()
  const backend = (): HaldirBackend => context.subject().backend
  const tamper = () => context.subject().tamper as AuditTamper

  describe('ledger: a log anyone can verify', () => {
    it('signs tree heads with a published Ed25519 key, over every entry of the tenant', async () => {
      const s = await session()
      await haldir().authorizePayment(s.id, 0.5)
      const head = await haldir().getTreeHead()
      const keys = await haldir().getLedgerKeys()
      const key = keys.find((candidate) => candidate.keyId === head.keyId)
      expect(key?.active).toBe(true)
      expect(signedBy(head, key?.publicKey as string)).toBe(true)
      expect(signedBy({ ...head, treeSize: head.treeSize + 1 }, key?.publicKey as string)).toBe(false)
      const all = await haldir().getAuditTrail({ sessionId: s.id })
      expect(head.treeSize).toBeGreaterThanOrEqual(all.count)
      expect((await haldir().listTreeHeads({ sinceSize: head.treeSize - 1 })).map((recorded) => recorded.rootHash)).toContain(head.rootHash)
    })

    it('proves every entry of a session is in the log, with leaves recomputed from the entries as the API returns them', async () => {
      const s = await session()
      const hold = await haldir().reserve(s.id, 1, { tool: 'llm' })
      await hold.settle(0.25)
      await haldir().logAction(s.id, { tool: 'note', details: { nested: { b: 2, a: [1, 'é'] } } })
      const { entries } = await haldir().getAuditTrail({ sessionId: s.id })
      for (const entry of entries) {
        const proof = await haldir().getInclusionProof(entry.id)
        expect(proof.leafHash).toBe(entryLeafHash(JSON.parse(JSON.stringify(entry))))
        expect(verifyInclusion({ leafHash: proof.leafHash, index: proof.leafIndex, size: proof.treeSize, path: proof.auditPath, root: proof.rootHash })).toBe(true)
        expect(proof.treeHead).toMatchObject({ treeSize: proof.treeSize, rootHash: proof.rootHash })
      }
    })

    it('proves an earlier head is a prefix of a later one', async () => {
      const s = await session()
      await haldir().authorizePayment(s.id, 0.1)
      const earlier = await haldir().getTreeHead()
      for (let index = 0; index < 5; index++) await haldir().logAction(s.id, { tool: 'grow', details: { index } })
      const later = await haldir().getTreeHead()
      const proof = await haldir().getConsistencyProof(earlier.treeSize, later.treeSize)
      expect(proof).toMatchObject({ firstRoot: earlier.rootHash, secondRoot: later.rootHash })
      expect(verifyConsistency({ first: earlier.treeSize, second: later.treeSize, firstRoot: earlier.rootHash, secondRoot: later.rootHash, path: proof.path })).toBe(true)
      await expect(haldir().getConsistencyProof(later.treeSize, later.treeSize + 10)).rejects.toMatchObject({ code: 'validation_error' })
    })

    it('re-derives every balance from the entries: charges, holds settled, released and open; the whole ledger verifies', async () => {
      const clean = context.cleanTenant()
      const crew = await clean.createSession({ agentId: 'crew', scopes: ['*'], spendLimit: 20 })
      const member = await clean.createSession({ agentId: 'member', parentId: crew.id, spendLimit: null })
      await clean.authorizePayment(member.id, 1.5)
      await (await clean.reserve(member.id, 2)).settle(0.75)
      await (await clean.reserve(member.id, 1)).release()
      await clean.reserve(crew.id, 3)
      expect(await clean.getSpend(crew.id)).toMatchObject({ totalUsd: 2.25, reservedUsd: 3 })
      expect(await clean.verifyAuditTrail(crew.id)).toMatchObject({ ok: true })
      expect(await clean.verifyAuditTrail(member.id)).toMatchObject({ ok: true })
      expect(await clean.verifyLedger()).toMatchObject({ ok: true, sessions: 2 })
    })
  })

  describe('ledger: tampering is caught against an earlier head', () => {
    needs('tamper')("catches a session's cut tail even when its own head was rewritten to match", async () => {
      const s = await session()
      for (let index = 0; index < 4; index++) await haldir().authorizePayment(s.id, 0.01, { details: { index } })
      const earlier = await haldir().getTreeHead()
      // Cut the last two payments, point the session's head at what is left, and fix its counter to match.
      await tamper().cutTail(s.id, 3)
      await tamper().setCounters(s.id, { spentMicros: 20_000 })
      // The attack succeeds against the session's own chain and balance ...
      expect(await haldir().verifyAuditTrail(s.id)).toEqual({ ok: true, count: 3 })
      // ... but not against the log, checked with the head an auditor kept.
      const verification = await haldir().verifyLedger({ earlierHead: earlier })
      expect(verification.ok).toBe(false)
      expect(verification.ok === false && verification.problems.map((problem) => problem.kind)).toContain('missing_entry')
    })

    needs('tamper')('catches a whole trail deleted', async () => {
      const s = await session()
      await haldir().authorizePayment(s.id, 0.2)
      const earlier = await haldir().getTreeHead()
      await tamper().deleteTrail(s.id)
      const verification = await haldir().verifyLedger({ earlierHead: earlier })
      expect(verification.ok === false && verification.problems.some((problem) => problem.kind === 'missing_entry')).toBe(true)
    })

    needs('tamper')('catches a reset spent counter like an edited entry', async () => {
      const s = await session({ spendLimit: 1 })
      await haldir().authorizePayment(s.id, 0.9)
      await tamper().setCounters(s.id, { spentMicros: 0 })
      expect(await haldir().verifyAuditTrail(s.id)).toMatchObject({ ok: false, reason: 'balance_mismatch' })
      const verification = await haldir().verifyLedger()
      expect(verification.ok === false && verification.problems.some((problem) => problem.kind === 'balance_mismatch' && problem.sessionId === s.id)).toBe(true)
    })

    it('refuses an earlier head signed by someone else', async () => {
      const head = await haldir().getTreeHead()
      const forged = { ...head, rootHash: 'ff'.repeat(32) }
      const verification = await haldir().verifyLedger({ earlierHead: forged })
      expect(verification.ok === false && verification.problems.some((problem) => problem.kind === 'inconsistent_with_earlier_head')).toBe(true)
    })
  })

  describe('ledger: bundles an auditor checks offline', () => {
    const text = async (records: AsyncIterable<unknown>) => {
      let out = ''
      for await (const line of bundleLines(records as never, 'jsonl')) out += line
      return out
    }
    const flipByte = (bundle: string, needle: string) => {
      const at = bundle.indexOf(needle)
      return bundle.slice(0, at) + (bundle[at] === 'a' ? 'b' : 'a') + bundle.slice(at + 1)
    }

    it('verifies a tenant bundle and a session bundle with the public key alone; a flipped byte, a dropped line or another key fail', async () => {
      const clean = context.cleanTenant()
      const s = await clean.createSession({ agentId: 'bundled', spendLimit: 5 })
      await clean.authorizePayment(s.id, 0.3, { description: 'flip me' })
      await clean.logAction(s.id, { tool: 'note', details: { index: 1 } })
      const publicKeys = (await clean.getLedgerKeys()).map((key) => key.publicKey)
      const tenantBundle = await text(exportBundle(clean))
      expect(verifyBundle(tenantBundle, { publicKeys })).toMatchObject({ ok: true, problems: [] })
      const sessionBundle = await text(exportBundle(clean, { sessionId: s.id }))
      expect(verifyBundle(sessionBundle, { publicKeys })).toMatchObject({ ok: true, count: 3 })
      for (const bundle of [tenantBundle, sessionBundle]) {
        expect(verifyBundle(flipByte(bundle, 'flip me'), { publicKeys }).ok).toBe(false)
        const lines = bundle.trimEnd().split('\n')
        expect(verifyBundle([...lines.slice(0, 1), ...lines.slice(2)].join('\n'), { publicKeys }).ok).toBe(false)
        expect(verifyBundle(bundle, { publicKeys: ['ab'.repeat(32)] }).ok).toBe(false)
      }
    })

    it('shows, against an earlier head the auditor kept, that the log only grew', async () => {
      const clean = context.cleanTenant()
      const s = await clean.createSession({ agentId: 'growing', spendLimit: 5 })
      await clean.authorizePayment(s.id, 0.1)
      const earlier = await clean.getTreeHead()
      await clean.logAction(s.id, { tool: 'after' })
      const publicKeys = (await clean.getLedgerKeys()).map((key) => key.publicKey)
      expect(verifyBundle(await text(exportBundle(clean)), { publicKeys, earlierHead: earlier }).ok).toBe(true)
      const withProof = await text(exportBundle(clean, { sessionId: s.id, earlierSize: earlier.treeSize }))
      expect(verifyBundle(withProof, { publicKeys, earlierHead: earlier }).ok).toBe(true)
      const forged = { ...earlier, rootHash: 'cd'.repeat(32) }
      expect(verifyBundle(withProof, { publicKeys, earlierHead: forged }).ok).toBe(false)
    })
  })

  it('names a missing entry when asked for its proof', async () => {
    await expect(backend().inclusionProof({ tenant: context.tenant(), entryId: 'aud_missing', treeSize: null })).rejects.toMatchObject({ code: 'not_found' })
  })
}
