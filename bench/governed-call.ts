// The governed call the core bench times, built the same way through whichever build of
// @haldir/core it is handed (this commit's, or a baseline's in core-round.ts).
import type * as current from '@haldir/core'

export type Core = typeof current

export async function governedCall(core: Core, label: string) {
  // Hundreds of thousands of sealed entries in one tenant: past the memory backend's default quota.
  const haldir = core.createHaldir({ backend: core.memoryBackend({ maxTenantBytes: Number.MAX_SAFE_INTEGER } as never) })
  const session = await haldir.createSession({ agentId: 'bench', scopes: ['search'], spendLimit: null, ttl: 24 * 3600 })
  const search = async (query: string) => ({ query, hits: 3 })
  // `tool` names the entry in both the old and the new vocabulary (`auditName` is its new name).
  const governed = core.withHaldir(search, { haldir, sessionId: session.id, scope: 'search', tool: 'search', cost: 0.001 } as never)
  return { label, haldir, session, search, governed }
}
