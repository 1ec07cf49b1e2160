import { readFileSync } from 'node:fs'

/** The built front end: the bundle `scripts/build-dashboard.ts` writes into the package's `dist` (shipped in the package, no CDN). */
export interface DashboardAssets {
  script: string
  style: string
}

// The same relative path from `src/dashboard/` (tests) and `dist/dashboard/` (the package) lands on `dist/dashboard-app/`.
const directory = new URL('../../dist/dashboard-app/', import.meta.url)

/**
 * Reads the bundle once, at the first request. A source checkout that was never built gets a
 * script that says so on the page instead of a blank screen.
 */
export function dashboardAssets(): () => DashboardAssets {
  let assets: DashboardAssets | undefined
  return () => {
    if (assets) return assets
    try {
      assets = { script: readFileSync(new URL('app.js', directory), 'utf8'), style: readFileSync(new URL('app.css', directory), 'utf8') }
    } catch {
      return {
        script: "document.getElementById('app').textContent = 'The dashboard is not built: run pnpm build in @haldir/server.'",
        style: '',
      }
    }
    return assets
  }
}
