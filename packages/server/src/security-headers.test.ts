import { readdirSync, readFileSync } from 'node:fs'
import { Script } from 'node:vm'
import { memoryBackend } from '@haldir/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey } from './api-keys.ts'
import { type RunningHaldirServer, serveHaldir } from './serve-haldir.ts'

const key = createApiKey()
let running: RunningHaldirServer

beforeAll(async () => {
  running = await serveHaldir({ backend: memoryBackend(), apiKeys: apiKeyStore([{ tenant: 'acme', role: 'admin', key }]), port: 0 })
})
afterAll(() => running.close())

const get = (path: string, headers: Record<string, string> = {}) => fetch(running.url + path, { headers })

describe('the dashboard under a strict CSP', () => {
  it('sends CSP, frame, sniffing and referrer headers on /, its script and its style', async () => {
    for (const path of ['/', '/dashboard/app.js', '/dashboard/app.css']) {
      const response = await get(path)
      expect(response.status, path).toBe(200)
      const csp = response.headers.get('content-security-policy') ?? ''
      expect(csp, path).toContain("default-src 'none'")
      expect(csp, path).toContain("script-src 'self'")
      expect(csp, path).toContain("style-src 'self'")
      expect(csp, path).toContain("connect-src 'self'")
      expect(csp, path).toContain("frame-ancestors 'none'")
      expect(csp, path).toContain("base-uri 'none'")
      expect(csp, path).toContain("require-trusted-types-for 'script'")
      expect(csp, path).not.toMatch(/unsafe-inline|unsafe-eval|\*/)
      expect(response.headers.get('x-frame-options')).toBe('DENY')
      expect(response.headers.get('x-content-type-options')).toBe('nosniff')
      expect(response.headers.get('referrer-policy')).toBe('no-referrer')
    }
    expect((await get('/dashboard/app.js')).headers.get('content-type')).toContain('text/javascript')
    expect((await get('/dashboard/app.css')).headers.get('content-type')).toContain('text/css')
  })

  it('has no inline script, style, style attribute or event handler for the CSP to refuse, and builds no HTML from strings', async () => {
    const html = await (await get('/')).text()
    for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag).toMatch(/\bsrc="\/dashboard\/app\.js"/)
    expect(html).toMatch(/<script type="module" src="\/dashboard\/app\.js"><\/script>/)
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i)
    // The app's own code never hands HTML strings to the DOM (the bundled Preact only would for
    // dangerouslySetInnerHTML, which the app never passes, and Trusted Types refuse it at run time).
    const sources = new URL('../app/', import.meta.url)
    for (const name of readdirSync(sources).filter((file) => file.endsWith('.ts'))) {
      const source = readFileSync(new URL(name, sources), 'utf8')
      expect(source, name).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|dangerouslySetInnerHTML|document\.write|\beval\(|new Function/)
      expect(source, name).not.toMatch(/style="/)
    }
    const script = await (await get('/dashboard/app.js')).text()
    expect(script).not.toMatch(/document\.write|\beval\(|new Function/)
    // It compiles (a syntax error would leave the page blank, with no inline fallback).
    expect(() => new Script(script)).not.toThrow()
  })
})

describe('API responses', () => {
  it('carry nosniff, a deny-all CSP, no framing and no caching, on success and on errors alike', async () => {
    const answers = [await get('/native/v1/sessions?limit=1', { authorization: `Bearer ${key}` }), await get('/native/v1/sessions/ses_x', { authorization: 'Bearer hld_wrong' }), await get('/healthz'), await get('/nowhere')]
    expect(answers.map((response) => response.status)).toEqual([200, 401, 200, 404])
    for (const response of answers) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff')
      expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'")
      expect(response.headers.get('x-frame-options')).toBe('DENY')
      expect(response.headers.get('cache-control')).toBe('no-store')
    }
  })
})

describe('X-Request-Id', () => {
  it('keeps a well-formed inbound id (trimmed), replaces anything else, and echoes it on every answer', async () => {
    const echoed = async (path: string, inbound?: string, headers: Record<string, string> = {}) =>
      (await get(path, inbound === undefined ? headers : { ...headers, 'x-request-id': inbound })).headers.get('x-request-id')
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
    expect(await echoed('/healthz', 'trace-123_ABC=')).toBe('trace-123_ABC=')
    expect(await echoed('/healthz', '   padded-id   ')).toBe('padded-id')
    expect(await echoed('/healthz', 'x'.repeat(64))).toBe('x'.repeat(64))
    expect(await echoed('/healthz', 'x'.repeat(65))).toMatch(uuid)
    expect(await echoed('/healthz', 'evil<script>')).toMatch(uuid)
    expect(await echoed('/healthz', 'a b')).toMatch(uuid)
    expect(await echoed('/healthz')).toMatch(uuid)
    // On refusals and errors too.
    expect(await echoed('/native/v1/sessions/ses_x', 'on-401', { authorization: 'Bearer hld_wrong' })).toBe('on-401')
    expect(await echoed('/native/v1/sessions/ses_x', 'on-404', { authorization: `Bearer ${key}` })).toBe('on-404')
    expect(await echoed('/nowhere', 'on-unknown-route')).toBe('on-unknown-route')
    const invalid = await fetch(`${running.url}/native/v1/sessions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'x-request-id': 'on-400' }, body: '{' })
    expect(invalid.status).toBe(400)
    expect(invalid.headers.get('x-request-id')).toBe('on-400')
  })
})
