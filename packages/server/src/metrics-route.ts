import { ForbiddenError } from '@haldir/core'
import type { Hono, MiddlewareHandler } from 'hono'
import type { PrometheusMetrics } from './prometheus-metrics.ts'
import type { ServerEnv } from './server-env.ts'

/** Operators read metrics; an agent's key (which runs calls) or an approver's does not. */
const METRICS_ROLES = new Set(['admin', 'auditor'])

/**
 * `GET /metrics`: the key's tenant's metrics in the Prometheus text format, for an `admin` or
 * `auditor` key (Prometheus sends it as `authorization: { credentials: hld_… }`).
 */
export function mountMetrics(app: Hono<ServerEnv>, options: { guard: MiddlewareHandler<ServerEnv>; metrics: PrometheusMetrics }): void {
  app.get('/metrics', options.guard, async (c) => {
    const { role, tenant } = c.get('identity')
    if (!METRICS_ROLES.has(role)) throw new ForbiddenError({ role, operation: 'metrics', message: `Role '${role}' may not read metrics; use an admin or auditor key` })
    const { contentType, text } = await options.metrics.render(tenant)
    return c.body(text, 200, { 'content-type': contentType })
  })
}
