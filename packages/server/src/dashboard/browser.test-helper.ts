import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'

/** Where Debian's Chromium lives (`.ci/run` installs it with apt); `HALDIR_CHROMIUM` points elsewhere. */
export const chromiumPath = process.env.HALDIR_CHROMIUM ?? '/usr/bin/chromium'

/**
 * Whether the browser tests can run. Without Chromium they are skipped, and say so loudly on
 * stderr, unless `HALDIR_REQUIRE_BROWSER=1` (CI), where a missing browser fails the run instead.
 */
export function browserAvailable(): boolean {
  if (existsSync(chromiumPath)) return true
  if (process.env.HALDIR_REQUIRE_BROWSER === '1') throw new Error(`HALDIR_REQUIRE_BROWSER=1 but there is no Chromium at ${chromiumPath} (apt-get install chromium)`)
  console.warn(`\n!!! SKIPPING the dashboard browser tests: no Chromium at ${chromiumPath} (apt-get install chromium, or set HALDIR_CHROMIUM) !!!\n`)
  return false
}

/** One headless Chromium for a whole test file (launching is the slow part). */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core')
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
}

/** Builds the front-end bundle from `app/` first, so a browser test never runs a stale build (esbuild takes well under a second). */
export function buildDashboardBundle(): void {
  execFileSync(process.execPath, [new URL('../../scripts/build-dashboard.ts', import.meta.url).pathname], { stdio: 'inherit' })
}

/**
 * With `HALDIR_SCREENSHOTS=1`, saves what `page` shows as `docs/<name>.png` (the README's
 * pictures); otherwise nothing, so an ordinary run leaves the checkout as it was.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.HALDIR_SCREENSHOTS !== '1') return
  await page.screenshot({ path: new URL(`../../../../docs/${name}.png`, import.meta.url).pathname, fullPage: true })
}
