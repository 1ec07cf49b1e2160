import { Hono } from 'hono'
import { cors } from 'hono/cors'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { ServerEnv } from '../server-env.ts'
import type { HaldirApiContext } from './haldir-api-context.ts'
import { haldirApiErrorAnswer } from './haldir-api-error-answer.ts'
import { mountApprovalsRoutes } from './routes/approvals-routes.ts'
import { mountAuditRoutes } from './routes/audit-routes.ts'
import { mountKeysRoutes } from './routes/keys-routes.ts'
import { mountLedgerRoutes } from './routes/ledger-routes.ts'
import { mountPaymentsRoutes } from './routes/payments-routes.ts'
import { mountProxyRoutes } from './routes/proxy-routes.ts'
import { mountSecretsRoutes } from './routes/secrets-routes.ts'
import { mountServiceRoutes } from './routes/service-routes.ts'
import { mountSessionsRoutes } from './routes/sessions-routes.ts'
import { mountWebhooksRoutes } from './routes/webhooks-routes.ts'

/**
 * Every area of the upstream Haldir API, one file each (`routes/*-routes.ts`), in the order a
 * path must be matched.
 */
const areas = [
  mountServiceRoutes,
  mountKeysRoutes,
  mountSessionsRoutes,
  mountSecretsRoutes,
  mountPaymentsRoutes,
  mountAuditRoutes,
  mountLedgerRoutes,
  mountProxyRoutes,
  mountApprovalsRoutes,
  mountWebhooksRoutes,
] as const

/**
 * Mounts the upstream Haldir REST API (`HALDIR-API.md`) at the root of `app`, as a sub-app with
 * upstream's error shapes (its own error handler) and `Access-Control-Allow-Origin: *` on
 * `/v1/*` (keys travel in headers, never cookies). Our semantics underneath: the engine's atomic
 * decisions through the backend contract, exact money, per-tenant everything, key roles.
 */
export function mountHaldirApi(app: Hono<ServerEnv>, context: HaldirApiContext): void {
  const api = new Hono<ServerEnv>()
  api.use(
    '/v1/*',
    cors({
      origin: '*',
      allowHeaders: ['Authorization', 'X-API-Key', 'Content-Type', 'Idempotency-Key', 'X-Session-ID', 'X-Request-ID'],
      allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
      exposeHeaders: ['X-Request-ID', 'Retry-After', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Used', 'X-RateLimit-Reset', 'X-RateLimit-Reset-After'],
    }),
  )
  api.onError((error, c) => {
    const { status, body, headers } = haldirApiErrorAnswer(error, context.failures, c.get('requestId'))
    for (const [name, value] of Object.entries(headers)) c.header(name, value)
    return c.json(body, status as ContentfulStatusCode)
  })
  for (const mount of areas) mount(api, context)
  app.route('/', api)
}
