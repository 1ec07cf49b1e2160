import type { Hono } from 'hono'
import { dashboardHtml } from './dashboard-html.ts'
import { dashboardScript } from './dashboard-script.ts'
import { dashboardStyle } from './dashboard-style.ts'
import { dashboardSecurityHeaders } from './security-headers.ts'
import type { ServerEnv } from './server-env.ts'

/**
 * Serves the read-only audit dashboard: `/` (markup), `/dashboard.js`, `/dashboard.css`, under a
 * strict CSP. The page holds no data and needs no key to load; everything it shows comes from
 * the API with the viewer's key, so the key's role decides what it can show (an `auditor` or
 * `approver` key reads everything; an `agent` key cannot list the tenant).
 */
export function mountDashboard(app: Hono<ServerEnv>): void {
  const headers = dashboardSecurityHeaders()
  app.get('/', headers, (c) => c.html(dashboardHtml))
  app.get('/dashboard.js', headers, (c) => c.body(dashboardScript, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }))
  app.get('/dashboard.css', headers, (c) => c.body(dashboardStyle, 200, { 'Content-Type': 'text/css; charset=utf-8' }))
}
