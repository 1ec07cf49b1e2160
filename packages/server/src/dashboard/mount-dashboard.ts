import type { Hono } from 'hono'
import { mountEventStream } from '../event-stream.ts'
import { mountLedgerExport } from '../ledger-export-route.ts'
import { dashboardSecurityHeaders } from '../security-headers.ts'
import type { ServerEnv } from '../server-env.ts'
import { dashboardAssets } from './dashboard-assets.ts'
import { DASHBOARD_API, type DashboardApiOptions, mountDashboardApi } from './dashboard-api.ts'
import { dashboardShell } from './dashboard-shell.ts'

/**
 * The dashboard: the page at `/`, its bundle under `/dashboard/`, all under the strict CSP, and
 * its cookie-authenticated API (`mountDashboardApi`) with the tenant's event stream and the
 * ledger export behind the same cookie.
 */
export function mountDashboard(app: Hono<ServerEnv>, options: DashboardApiOptions): void {
  const headers = dashboardSecurityHeaders()
  const assets = dashboardAssets()
  app.get('/', headers, (c) => c.html(dashboardShell))
  app.get('/dashboard/app.js', headers, (c) => c.body(assets().script, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }))
  app.get('/dashboard/app.css', headers, (c) => c.body(assets().style, 200, { 'Content-Type': 'text/css; charset=utf-8' }))
  const { auth } = mountDashboardApi(app, options)
  mountEventStream(app, { backend: options.backend, guard: auth, path: `${DASHBOARD_API}/events` })
  mountLedgerExport(app, { backend: options.backend, guard: auth, refuseNarrowedKey: options.refuseNarrowedKey, path: `${DASHBOARD_API}/export` })
}
