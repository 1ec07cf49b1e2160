import { readdirSync, readFileSync } from 'node:fs'
import * as esbuild from 'esbuild'
import { describe, expect, it } from 'vitest'
import { readmeSnippets, SNIPPET_MARKER } from './readme-snippets.ts'

describe('readmeSnippets', () => {
  it('takes the fenced block after each marker, and only those', () => {
    const markdown = ['# x', '```ts', 'ignored()', '```', SNIPPET_MARKER, '```ts', 'first()', '', 'second()', '```', 'text', SNIPPET_MARKER, '````ts', 'a ```', '````'].join('\n')
    expect(readmeSnippets(markdown)).toEqual(['first()\n\nsecond()', 'a ```'])
  })

  it('refuses a marker without a code block after it, or a block never closed', () => {
    expect(() => readmeSnippets(`${SNIPPET_MARKER}\n\n\`\`\`ts\nx\n\`\`\``)).toThrow(/must be followed/)
    expect(() => readmeSnippets(`${SNIPPET_MARKER}\n\`\`\`ts\nx`)).toThrow(/never closed/)
  })

  // The slow check (running them from the packed packages) is scripts/packed-install.ts in CI;
  // this one keeps every README's snippet present and compiling on every test run.
  it('finds a snippet that compiles in every package README', async () => {
    const packages = readdirSync(new URL('../../packages', import.meta.url))
    expect(packages.length).toBeGreaterThanOrEqual(7)
    for (const name of packages) {
      const snippets = readmeSnippets(readFileSync(new URL(`../../packages/${name}/README.md`, import.meta.url), 'utf8'))
      expect(snippets.length, name).toBeGreaterThan(0)
      for (const snippet of snippets) await expect(esbuild.transform(snippet, { loader: 'ts', format: 'esm' }), name).resolves.toBeDefined()
    }
  })
})
