import type { Hono } from 'hono'
import type { ServerEnv } from '../../server-env.ts'
import type { HaldirApiContext } from '../haldir-api-context.ts'

/** What `GET /v1` lists: the areas of the Haldir API this server speaks. */
const endpoints = {
  keys: '/v1/keys',
  usage: '/v1/usage',
  sessions: '/v1/sessions',
  secrets: '/v1/secrets',
  payments: '/v1/payments/authorize',
  audit: '/v1/audit',
  audit_export: '/v1/audit/export',
  tree_head: '/v1/audit/tree-head',
  inclusion_proof: '/v1/audit/inclusion-proof/{entry_id}',
  consistency_proof: '/v1/audit/consistency-proof',
  sth_log: '/v1/audit/sth-log',
  jwks: '/.well-known/jwks.json',
  proxy: '/v1/proxy',
  native: '/native/v1',
}

/**
 * Liveness and the index (`HALDIR-API.md` §16), without a key: `/healthz` and `/livez` answer
 * without touching the backend (`/readyz` is the readiness check); `/v1` names the areas.
 */
export function mountServiceRoutes(app: Hono<ServerEnv>, context: HaldirApiContext): void {
  const alive = () => ({ alive: true, service: 'haldir', checked_at: Math.floor(Date.now() / 1000), status: 'ok', version: context.version, ok: true, backend: context.backend.name })
  app.get('/healthz', (c) => c.json(alive()))
  app.get('/livez', (c) => c.json(alive()))
  app.get('/v1', (c) => c.json({ service: 'haldir', version: context.version, docs: 'https://github.com/haldir-dev/haldir-ts/tree/main/packages/server#the-haldir-api', endpoints }))
}
