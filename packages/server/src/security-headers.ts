import type { MiddlewareHandler } from 'hono'
import { secureHeaders } from 'hono/secure-headers'

// HSTS is left to the TLS terminator: this server speaks plain HTTP, and a max-age sent from
// behind a proxy would bind the whole host (and its subdomains) to HTTPS without its owner's say.
const common = {
  xFrameOptions: 'DENY',
  referrerPolicy: 'no-referrer',
  strictTransportSecurity: false,
  crossOriginResourcePolicy: 'same-origin',
  permissionsPolicy: { camera: false, microphone: false, geolocation: false },
} as const

/**
 * Headers on every response: `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
 * `Referrer-Policy: no-referrer`, a CSP that allows nothing (a JSON answer never loads or frames
 * anything), and `Cache-Control: no-store` (answers carry secrets and live budgets). A route
 * that sets its own (the dashboard's CSP) keeps it.
 */
export function apiSecurityHeaders(): MiddlewareHandler {
  const headers = secureHeaders({ ...common, contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] }, overwrite: false })
  return async (c, next) => {
    await headers(c, async () => {
      await next()
      if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store')
    })
  }
}

/**
 * The dashboard's strict CSP: its own script and style files only (no inline script or style,
 * no `unsafe-inline`), fetches to this origin only, no framing, no forms, no base URI; DOM
 * sinks take no strings (`require-trusted-types-for 'script'`, so `innerHTML` is refused where
 * supported: the page builds its DOM with `textContent`).
 */
export function dashboardSecurityHeaders(): MiddlewareHandler {
  return secureHeaders({
    ...common,
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      connectSrc: ["'self'"],
      imgSrc: ["'self'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
      requireTrustedTypesFor: ["'script'"],
    },
  })
}
