import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHaldir, ValidationError } from '@haldir/core'
import { describe, expect, it } from 'vitest'
import { createHaldirProxy } from './create-haldir-proxy.ts'
import { loadProxyConfig } from './load-proxy-config.ts'
import { parseProxyConfig } from './proxy-config.ts'
import { testUpstreamScript } from './proxy-fixtures.test-helper.ts'
import { startProxy } from './start-proxy.ts'

const pay = { command: process.execPath, args: [testUpstreamScript] }

function problems(input: unknown): string[] {
  try {
    parseProxyConfig(input)
  } catch (error) {
    if (!ValidationError.isInstance(error)) throw error
    return error.issues.map((issue) => `${issue.path}: ${issue.message}`)
  }
  throw new Error('the configuration was accepted')
}

describe('the proxy configuration', () => {
  it('applies the defaults to a minimal file', () => {
    expect(parseProxyConfig({ upstreams: { pay }, session: { create: { agentId: 'desktop' } } })).toEqual({
      upstreams: { pay: { ...pay, resources: false, prompts: false } },
      session: { create: { agentId: 'desktop', scopes: [] } },
      namespace: 'onClash',
      backend: 'memory',
      timeoutMs: 60_000,
      recordInput: true,
    })
  })

  it('names an unknown key at any depth with the closest valid one', () => {
    expect(problems({ upstream: { pay } })).toEqual(['upstreams: is required', ": unknown key 'upstream' (did you mean 'upstreams'?)"])
    expect(
      problems({
        upstreams: { pay: { ...pay, arg: [] } },
        costs: { charge: { argument: 'amount', multipler: 2 } },
        session: { apiKeys: [{ key: 'k'.repeat(20), sesion: { id: 'ses_1' } }] },
        http: { prot: 8080 },
      }),
    ).toEqual([
      "upstreams.pay: unknown key 'arg' (did you mean 'args'?)",
      "costs.charge: unknown key 'multipler' (did you mean 'multiplier'?)",
      'session.apiKeys.0.session: is required',
      "session.apiKeys.0: unknown key 'sesion' (did you mean 'session'?)",
      "http: unknown key 'prot' (did you mean 'port'?)",
    ])
    expect(problems({ upstreams: { pay }, zzz: 1 })).toEqual([": unknown key 'zzz' (expected one of: upstreams, scope, scopes, cost, costs, maxCost, maxCosts, namespace, session, backend, timeoutMs, recordInput, http)"])
  })

  it('refuses a missing or ill-formed upstream', () => {
    expect(problems({})).toEqual(['upstreams: is required'])
    expect(problems({ upstreams: {} })).toEqual(['upstreams: needs at least one upstream'])
    expect(problems({ upstreams: { pay: {} } })).toEqual(['upstreams.pay: needs exactly one of "command" (a local server over stdio) or "url" (Streamable HTTP)'])
    expect(problems({ upstreams: { pay: { ...pay, url: 'http://127.0.0.1:1/mcp' } } })).toEqual(['upstreams.pay: needs exactly one of "command" (a local server over stdio) or "url" (Streamable HTTP)'])
    expect(problems({ upstreams: { remote: { url: 'ftp://host/mcp' } } })).toEqual(['upstreams.remote.url: must be an http:// or https:// URL'])
    expect(problems({ upstreams: { remote: { url: 'https://host/mcp', args: ['x'] } } })).toEqual(['upstreams.remote.args: applies to a "command" upstream only'])
    expect(problems({ upstreams: { 'pay__v2': pay } })).toEqual(["upstreams.pay__v2: is not a valid name: must not contain '__' (it separates upstream and tool in namespaced names)"])
  })

  it('refuses a bad cost before anything starts', () => {
    expect(problems({ upstreams: { pay }, costs: { charge: -1, search: 0.0000001, echo: 'free', refund: { argument: '' } } })).toEqual([
      'costs.charge: must be a USD amount: finite, not below 0, at most 6 decimals',
      'costs.search: must be a USD amount: finite, not below 0, at most 6 decimals',
      'costs.echo: must be a number of USD or { "argument": "<name>", "multiplier"?: <USD per unit> }',
      "costs.refund.argument: must be an argument name or a dotted path such as 'order.total'",
    ])
    expect(problems({ upstreams: { pay }, maxCost: -2, timeoutMs: 0 })).toEqual(['maxCost: must be a USD amount: finite, not below 0, at most 6 decimals', 'timeoutMs: Too small: expected number to be >=1'])
    expect(problems({ upstreams: { pay }, scopes: { charge: 'two words' } })).toEqual(["scopes.charge: must have no whitespace, and '*' only at the end"])
  })

  it('needs exactly one way to pick the session', () => {
    expect(problems({ upstreams: { pay }, session: {} })).toEqual(['session: needs exactly one of "id", "create", "header", "apiKeys"'])
    expect(problems({ upstreams: { pay }, session: { id: 'ses_1', create: { agentId: 'x' } } })).toEqual(['session: needs exactly one of "id", "create", "header", "apiKeys", got "id" and "create"'])
    expect(problems({ upstreams: { pay }, session: { apiKeys: [{ keyHash: 'sha256:abc', session: { id: 'ses_1' } }] } })).toEqual(['session.apiKeys.0.keyHash: must be sha256:<64 lower-case hex>'])
  })

  it('reports a file that is not JSON with the parser position', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'haldir-mcp-config-')), 'broken.json')
    writeFileSync(file, '{ "upstreams": { } ,, }')
    await expect(loadProxyConfig(file)).rejects.toThrow(/broken\.json is not valid JSON: .*position/)
    writeFileSync(file, JSON.stringify({ upstreams: { pay }, sesion: {} }))
    await expect(loadProxyConfig(file)).rejects.toThrow(`Invalid proxy configuration ${file}: unknown key 'sesion' (did you mean 'session'?)`)
  })

  it('refuses, at startup, a policy key that names no tool (a typo would make a priced tool free)', async () => {
    const error = await createHaldirProxy({ haldir: createHaldir(), config: { upstreams: { pay }, costs: { chrage: 1 }, scopes: { serch: 'read' } }, log: () => {} }).catch((caught: unknown) => caught)
    expect(ValidationError.isInstance(error) && error.issues).toEqual([
      { path: 'scopes.serch', message: "names no tool of any upstream (did you mean 'search'?)" },
      { path: 'costs.chrage', message: "names no tool of any upstream (did you mean 'charge'?)" },
    ])
  })

  it('refuses sessions that cannot work in the chosen mode, before any upstream starts', async () => {
    const memoryWithId = startProxy({ config: { upstreams: { pay }, session: { id: 'ses_1' } }, log: () => {} })
    await expect(memoryWithId).rejects.toThrow('session: names existing sessions, but a memory backend starts empty')
    const keysOverStdio = startProxy({ config: { upstreams: { pay }, session: { apiKeys: [{ key: 'k'.repeat(20), session: { create: { agentId: 'a' } } }] } }, haldir: createHaldir(), log: () => {} })
    await expect(keysOverStdio).rejects.toThrow('session.apiKeys: maps HTTP credentials to sessions: serve with --http')
    const openToTheWorld = startProxy({ config: { upstreams: { pay }, session: { create: { agentId: 'a' } } }, http: { port: 0, host: '0.0.0.0' }, log: () => {} })
    await expect(openToTheWorld).rejects.toThrow('without credentials, anyone who reaches 0.0.0.0 acts as this session')
    await expect(startProxy({ config: { upstreams: { pay } }, log: () => {} })).rejects.toThrow('session: is required')
  })
})
