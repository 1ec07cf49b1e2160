// What Haldir adds to a bundle for the browser, an edge function or a Worker: each entry is
// bundled from the built packages (`pnpm build` first) with esbuild for the `browser`/`worker`
// conditions (what Vercel Edge and wrangler resolve), minified, and gzipped at level 9.
import { gzipSync } from 'node:zlib'
import * as esbuild from 'esbuild'

interface Size {
  minified: number
  gzipped: number
  /** Bytes in the minified output per package (or per folder of @haldir/core). */
  parts: Map<string, number>
}

async function bundleSize(contents: string): Promise<Size> {
  const result = await esbuild.build({
    stdin: { contents, resolveDir: process.cwd(), loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['worker', 'browser'],
    write: false,
    metafile: true,
    logLevel: 'error',
  })
  const code = (result.outputFiles[0] as esbuild.OutputFile).contents
  const parts = new Map<string, number>()
  for (const [file, input] of Object.entries(Object.values(result.metafile.outputs)[0]?.inputs ?? {})) {
    const part = /node_modules\/(@[^/]+\/[^/]+|[^/]+)\/(?!.*node_modules)/.exec(file)?.[1] ?? file.replace(/^.*packages\/([^/]+)\/dist\/([^/]+)\/.*$/, '@haldir/$1 $2').replace(/^.*packages\/([^/]+)\/dist\/[^/]+$/, '@haldir/$1')
    parts.set(part, (parts.get(part) ?? 0) + input.bytesInOutput)
  }
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length, parts }
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`

const entries = {
  'client path: createHaldir + httpBackend + withHaldir + createGovernor': "export { createHaldir, httpBackend, withHaldir, createGovernor } from '@haldir/core'",
  'httpBackend + createGovernor only (no createHaldir, so no memory engine)': "export { httpBackend, createGovernor } from '@haldir/core'",
  'an AI SDK app: generateText + tool + zod': "export { generateText, tool } from 'ai'; export { z } from 'zod'",
  'the same app + @haldir/ai-sdk (withHaldir, meterModel) + createHaldir/httpBackend':
    "export { generateText, tool } from 'ai'; export { z } from 'zod'; export { createHaldir, httpBackend } from '@haldir/core'; export { withHaldir, meterModel } from '@haldir/ai-sdk'",
}

console.log('\nbundle sizes (esbuild, minified; gzip -9), conditions worker + browser')
console.log('| entry | minified | gzipped |')
console.log('|---|---:|---:|')
const sizes = new Map<string, Size>()
for (const [name, contents] of Object.entries(entries)) {
  const size = await bundleSize(contents)
  sizes.set(name, size)
  console.log(`| ${name} | ${kb(size.minified)} | ${kb(size.gzipped)} |`)
}
const [app, withHaldirApp] = [...sizes.values()].slice(2)
if (app && withHaldirApp) console.log(`\nwhat Haldir adds to that AI SDK app: ${kb(withHaldirApp.gzipped - app.gzipped)} gzipped`)
const client = [...sizes.values()][0]
if (client) {
  console.log('\nclient path, minified bytes by part:')
  for (const [part, bytes] of [...client.parts].sort((a, b) => b[1] - a[1])) if (bytes > 0) console.log(`  ${kb(bytes).padStart(9)}  ${part}`)
}
