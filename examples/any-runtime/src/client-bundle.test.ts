import { describe, expect, it } from 'vitest'
import { bundle, platformConditions } from './bundle.test-helper.ts'

// The client path (DESIGN §12) imports no `node:` built-in: each entry must bundle for Workers and
// Vercel Edge, where esbuild's browser platform makes a `node:` import a build error. The
// frameworks themselves are the app's own dependencies (peers), left out here.
const entries = {
  '@haldir/core client path': { contents: "export { createHaldir, httpBackend, withHaldir, createGovernor, memoryBackend } from '@haldir/core'", external: [] },
  '@haldir/core/backend (what adapters import)': { contents: "export { checkOptionKeys, errorMessage, nodeTransport } from '@haldir/core/backend'", external: [] },
  '@haldir/ai-sdk': { contents: "export * from '@haldir/ai-sdk'", external: ['ai'] },
  '@haldir/langchain': { contents: "export * from '@haldir/langchain'", external: ['@langchain/core', '@langchain/core/*', 'langchain'] },
  '@haldir/mcp (client side)': { contents: "export * from '@haldir/mcp'", external: ['@modelcontextprotocol/sdk', '@modelcontextprotocol/sdk/*'] },
}

/**
 * Gzipped bytes the core client path may take; see bench/bundle.bench.ts. 73 KB when first set,
 * 89 KB once approvals (their client API and events over server-sent events, with
 * eventsource-parser) and budget windows (time zones, with @date-fns/tz) joined the memory engine
 * the default `createHaldir()` carries; 92.03 KB once the HTTP client batched concurrent gates
 * (the batcher, the batch route and its schema: about 1 KB); 95.5 KB once the engine learned
 * escrowed slices of a parent's budget (95.6 → 97.8 KB: the slice plans, their recall and the
 * memory store's side of them, which the engine carries whether or not slices are on); 96.1 KB
 * once the memory store kept its open holds map from shrinking and drew id bytes ahead (the slow
 * calls of a loop that never yields, bench/tail.bench.ts); 97.2 KB once the memory store kept
 * sealed entries as bytes outside the heap and parsed them on read (its session and tenant trails,
 * the byte chunks, the per-entry filter marks and `keysInOrder`: about 1.1 KB; a long-lived
 * client's heap ~4× smaller and its major collections no longer slow its calls); 98.8 KB once a
 * governed call got its decision within the call and details were walked once, quickly, with their
 * JSON length counted (the quick walk beside the full one that names a fault, the synchronous and
 * prepared gates, the hold as a class: about 1.6 KB; a governed call's p50 down by almost half). An HTTP-only
 * client (`httpBackend` + `createGovernor`) is about 40 KB.
 */
const CLIENT_PATH_BUDGET = 99 * 1024

describe.each(Object.keys(platformConditions) as (keyof typeof platformConditions)[])('bundled for %s', (platform) => {
  it.each(Object.entries(entries))('%s has no node: built-in', async (_name, entry) => {
    const built = await bundle(entry.contents, { conditions: platformConditions[platform], format: 'esm', external: entry.external })
    expect(built.inputs.filter((input) => input.startsWith('node:'))).toEqual([])
    // Node's own modules would be a resolve error above; the Node builds of #crypto and
    // #default-transport must not be picked either.
    expect(built.inputs.filter((input) => /node-crypto|default-transport-node|node-transport/.test(input))).toEqual([])
  })

  it(`keeps the core client path under ${CLIENT_PATH_BUDGET / 1024} KB gzipped`, async () => {
    const built = await bundle(entries['@haldir/core client path'].contents, { conditions: platformConditions[platform], format: 'esm', minify: true })
    expect(built.gzipped).toBeLessThan(CLIENT_PATH_BUDGET)
  })
})
