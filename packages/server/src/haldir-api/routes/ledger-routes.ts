import { NotFoundError, type TreeHead, ValidationError } from '@haldir/core'
import { idSchema } from '@haldir/core/backend'
import type { Hono } from 'hono'
import type { ServerEnv } from '../../server-env.ts'
import { requireAccess } from '../haldir-api-auth.ts'
import type { HaldirApiContext } from '../haldir-api-context.ts'
import { codedError } from '../haldir-api-error.ts'

/** A signed tree head as upstream's `GET /v1/audit/tree-head` answers it (`HALDIR-API.md` §10.3). */
export function upstreamTreeHead(head: TreeHead, tenant: string) {
  return {
    tree_size: head.treeSize,
    root_hash: head.rootHash,
    signed_at: head.signedAt,
    signature: head.signature,
    algorithm: head.algorithm,
    public_key: head.publicKey,
    key_id: head.keyId,
    signing_key_source: 'haldir-ledger',
    tenant_id: tenant,
  }
}

/** A head as a row of upstream's STH log. Heads are recorded when signed: `recorded_at` is the signing time. */
function sthRow(head: TreeHead, tenant: string) {
  return { tenant_id: tenant, tree_size: head.treeSize, root_hash: head.rootHash, algorithm: head.algorithm, signature: head.signature, signed_at: head.signedAt, key_id: head.keyId, public_key: head.publicKey, recorded_at: head.signedAt }
}

const HEADS_PAGE = 10_000

/**
 * Tamper evidence (`HALDIR-API.md` §10), backed by the tenant's ledger: an RFC 6962 log kept
 * incrementally (never rebuilt per request), heads always Ed25519 (never HMAC), the keys in
 * `/.well-known/jwks.json`. Proofs are in upstream's shapes and order, so its verification
 * helpers accept them. Leaves commit to our entries (canonical JSON), not upstream's pipe layout.
 */
export function mountLedgerRoutes(app: Hono<ServerEnv>, context: HaldirApiContext): void {
  const { backend, auth } = context

  app.get('/v1/audit/tree-head', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'treeHead')
    return c.json(upstreamTreeHead(await backend.treeHead({ tenant }), tenant))
  })

  app.get('/v1/audit/inclusion-proof/:entryId', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'inclusionProof')
    const entryId = c.req.param('entryId')
    const notFound = () => codedError(404, 'not_found', "audit entry not found in this tenant's log", { entry_id: entryId })
    if (!idSchema.safeParse(entryId).success) throw notFound()
    try {
      const proof = await backend.inclusionProof({ tenant, entryId, treeSize: null })
      return c.json({
        algorithm: 'RFC6962-SHA256',
        entry_id: proof.entryId,
        leaf_index: proof.leafIndex,
        leaf_hash: proof.leafHash,
        tree_size: proof.treeSize,
        root_hash: proof.rootHash,
        audit_path: proof.auditPath,
        sth: upstreamTreeHead(proof.treeHead, tenant),
      })
    } catch (error) {
      if (NotFoundError.isInstance(error)) throw notFound()
      throw error
    }
  })

  app.get('/v1/audit/consistency-proof', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'consistencyProof')
    const first = integer(c.req.query('first'))
    const second = integer(c.req.query('second'))
    if (first === null || second === null) throw codedError(400, 'invalid_argument', 'first and second must be integers')
    const invalid = () => codedError(400, 'invalid_range', "invalid first/second sizes for this tenant's tree", { first, second })
    if (first <= 0 || first > second) throw invalid()
    try {
      const proof = await backend.consistencyProof({ tenant, first, second })
      return c.json({ algorithm: 'RFC6962-SHA256', first_size: proof.first, second_size: proof.second, first_root: proof.firstRoot, second_root: proof.secondRoot, consistency_path: proof.path })
    } catch (error) {
      // The engine refuses a second size beyond the log.
      if (ValidationError.isInstance(error)) throw invalid()
      throw error
    }
  })

  app.get('/v1/audit/sth-log', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'sthLog')
    const since = integer(c.req.query('since') ?? '0')
    const limit = integer(c.req.query('limit') ?? '1000')
    if (since === null || limit === null) throw codedError(400, 'invalid_argument', 'since and limit must be integers')
    const all = await everyHead(context, tenant)
    const selected = all.filter((head) => head.treeSize > since).slice(0, Math.max(0, Math.min(limit, 10_000)))
    return c.json({
      tenant_id: tenant,
      count: all.length,
      earliest: all[0] ? sthRow(all[0], tenant) : null,
      latest: all.at(-1) ? sthRow(all.at(-1) as TreeHead, tenant) : null,
      sths: selected.map((head) => sthRow(head, tenant)),
    })
  })

  app.get('/v1/audit/sth-log/verify', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'sthLog')
    const sizeText = c.req.query('pinned_size')
    const rootText = c.req.query('pinned_root')
    if (sizeText === undefined || rootText === undefined) throw codedError(400, 'invalid_argument', 'pinned_size and pinned_root are required query params')
    const size = integer(sizeText)
    if (size === null) throw codedError(400, 'invalid_argument', 'pinned_size must be an integer')
    const root = rootText.trim().toLowerCase()
    const recorded = (await backend.treeHeads({ tenant, sinceSize: Math.max(0, size - 1), limit: 1 })).find((head) => head.treeSize === size)
    const pinned = { pinned_tree_size: size, pinned_root_hash: root }
    if (!recorded) return c.json({ verified: false, reason: 'not_in_log', note: 'no head of that size was recorded in this tenant\'s log', ...pinned })
    if (recorded.rootHash !== root) {
      return c.json({ verified: false, reason: 'equivocation', note: 'the log recorded another root at that size: the log was rewritten, or the pinned head is not this log\'s', ...pinned, recorded_root_hash: recorded.rootHash, recorded: sthRow(recorded, tenant) })
    }
    return c.json({ verified: true, reason: 'match', ...pinned, recorded: sthRow(recorded, tenant) })
  })
}

/** The tenant's tree-head log, oldest first, read in pages. */
async function everyHead({ backend }: HaldirApiContext, tenant: string): Promise<TreeHead[]> {
  const heads: TreeHead[] = []
  for (let since = 0; ; ) {
    const page = await backend.treeHeads({ tenant, sinceSize: since, limit: HEADS_PAGE })
    heads.push(...page)
    if (page.length < HEADS_PAGE) return heads
    since = (page.at(-1) as TreeHead).treeSize
  }
}

function integer(text: string | undefined): number | null {
  if (text === undefined || !/^-?\d{1,15}$/.test(text.trim())) return null
  return Number(text)
}
