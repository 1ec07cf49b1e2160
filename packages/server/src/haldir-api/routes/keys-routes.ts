import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Hono } from 'hono'
import { isApiKeyRole } from '../../api-key-role.ts'
import { createApiKey } from '../../api-keys.ts'
import type { MintedKey } from '../../key-registry.ts'
import { createRateLimit } from '../../rate-limits.ts'
import { clientAddress } from '../../client-address.ts'
import type { ServerEnv } from '../../server-env.ts'
import { requireAccess } from '../haldir-api-auth.ts'
import type { HaldirApiContext } from '../haldir-api-context.ts'
import { codedError, HaldirApiError, insufficientScope, plainError } from '../haldir-api-error.ts'
import { keyScopesCover, parseKeyScopes } from '../key-scopes.ts'
import { currentMonth } from '../usage-counter.ts'

const SAVE_IT = "Save this key — it won't be shown again."

/** Epoch seconds of epoch milliseconds (0 stays 0: never). */
const seconds = (ms: number) => ms / 1000

function listed(record: MintedKey) {
  return { prefix: record.prefix, name: record.name, tier: 'free', scopes: record.scopes, created_at: seconds(record.createdAt), last_used: seconds(record.lastUsed), revoked: record.revoked, role: record.role }
}

/**
 * API keys, the demo key and usage (`HALDIR-API.md` §4), without upstream's weak points: minting
 * needs an admin key (upstream lets any key mint a wildcard key, §18 #5), a minted key never has
 * more than its minter (scopes it lacks are a 403), and a key without a key — a new tenant —
 * only with the operator's bootstrap token (never merely because no key exists yet). Keys carry
 * a role as every key here does (`role` in the body; default: the minter's).
 */
export function mountKeysRoutes(app: Hono<ServerEnv>, context: HaldirApiContext): void {
  const { auth, registry, idempotency } = context
  // A demo key is a new tenant for anyone: a few per address and hour.
  const demoLimit = createRateLimit({ points: 10, durationSeconds: 3600 }, { points: 10, durationSeconds: 3600 }, 'demoKeys')

  app.post('/v1/keys', async (c) => {
    let identity: Awaited<ReturnType<typeof auth.identify>>
    try {
      identity = await auth.identify(c)
    } catch (error) {
      if (error instanceof HaldirApiError && error.status === 401) throw plainError(401, 'Invalid API key')
      throw error
    }
    if (identity) requireAccess(identity, 'createKey')
    const body = (await context.readJson(c)) as Record<string, unknown>
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw codedError(400, 'invalid_request', 'the body must be a JSON object')
    const name = body.name === undefined || body.name === null ? 'default' : body.name
    if (typeof name !== 'string' || name.length > 200) throw codedError(400, 'invalid_request', 'name must be a string of at most 200 characters')
    const scopes = parseKeyScopes(body.scopes)
    const role = body.role === undefined ? 'admin' : body.role
    if (!isApiKeyRole(role)) throw codedError(400, 'invalid_role', "role must be one of admin, agent, auditor, approver")
    let tenant: string | null = null
    if (identity) {
      const granted = identity.scopes ?? ['*']
      for (const scope of scopes) if (scope === '*' ? !granted.includes('*') : !keyScopesCover(granted, scope)) throw insufficientScope(scope, granted)
      tenant = identity.tenant
    } else if (!bootstrapAllowed(context.bootstrapToken, body.bootstrap_token)) {
      throw plainError(401, 'Authentication required to create additional keys')
    }
    const work = async () => {
      const key = createApiKey()
      // A new tenant's id: the first 16 hex of its first key's SHA-256, as upstream names tenants.
      const owner = tenant ?? createHash('sha256').update(key).digest('hex').slice(0, 16)
      // Only an admin mints (requireAccess), so the default role, admin, is the minter's.
      const minted = registry.mint({ tenant: owner, role, name, scopes, key })
      return { status: 201, body: { key, prefix: minted.record.prefix, name, tier: 'free', scopes, role: minted.record.role, message: SAVE_IT, ...(tenant === null ? { tenant_id: owner } : {}) } }
    }
    return idempotency.respond(c, { tenant: tenant ?? '', route: '/v1/keys', body }, work)
  })

  app.get('/v1/keys', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'listKeys')
    const minted = registry.listMinted(tenant).map(listed)
    // Keys from the server's configuration: listed by key id (their prefix is not known), revoked by editing the configuration.
    const mintedIds = new Set(registry.list?.(tenant).map((key) => key.keyId))
    const configured = (context.apiKeys.list?.(tenant) ?? [])
      .filter((key) => !mintedIds.has(key.keyId))
      .map((key) => ({ prefix: key.keyId, name: 'configured', tier: 'free', scopes: ['*'], created_at: 0, last_used: 0, revoked: false, role: key.role, configured: true }))
    const keys = [...minted, ...configured]
    return c.json({ keys, count: keys.length })
  })

  app.delete('/v1/keys/:prefix', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'revokeKey')
    const prefix = c.req.param('prefix')
    if (prefix === '' || prefix.length > 64) throw codedError(400, 'invalid_prefix', 'prefix must be 1 to 64 characters')
    if (!registry.revoke(tenant, prefix)) throw codedError(404, 'not_found', 'no active key with that prefix in this tenant')
    return c.json({ revoked: true, prefix })
  })

  app.post('/v1/demo/key', async (c) => {
    if (!context.demoKeys) throw codedError(403, 'demo_disabled', 'Demo keys are disabled on this server')
    const standing = await demoLimit?.consume(clientAddress(c, context.trustProxyHops))
    if (standing && !standing.allowed) throw codedError(429, 'rate_limit_exceeded', 'Too many demo keys from this address; try again later', { resource: 'demo_key' })
    const tenant = `demo_${randomBytes(6).toString('hex')}`
    const { key, record } = registry.mint({ tenant, role: 'admin', name: 'landing-demo', scopes: ['*'] })
    return c.json({ key, prefix: record.prefix, name: 'landing-demo', tier: 'free' }, 201)
  })

  app.get('/v1/usage', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'getUsage')
    const month = c.req.query('month') ?? currentMonth()
    if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) throw codedError(400, 'invalid_argument', 'month must be YYYY-MM')
    const count = context.usage.count(tenant, month)
    return c.json(count > 0 ? { tenant_id: tenant, month, action_count: count, tier: 'free' } : { tenant_id: tenant, month, action_count: 0 })
  })
}

/** The operator's bootstrap token, compared in constant time; without one configured, never. */
function bootstrapAllowed(expected: string | null, given: unknown): boolean {
  if (expected === null || typeof given !== 'string') return false
  const a = createHash('sha256').update(expected).digest()
  const b = createHash('sha256').update(given).digest()
  return timingSafeEqual(a, b)
}
