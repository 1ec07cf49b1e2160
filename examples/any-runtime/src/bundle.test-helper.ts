import { gzipSync } from 'node:zlib'
import * as esbuild from 'esbuild'

/** The conditions each platform's bundler resolves (wrangler for Workers, Next.js/Vercel for Edge). */
export const platformConditions = {
  workerd: ['workerd', 'worker', 'browser'],
  edge: ['edge-light', 'worker', 'browser'],
} as const

/**
 * Bundles `contents` (TypeScript, resolved from this example's folder) as that platform's bundler
 * would, from the workspace sources (`@haldir/source`, so a test never runs a stale build).
 * `platform: 'browser'` makes any `node:` built-in a build error.
 */
export async function bundle(contents: string, options: { conditions: readonly string[]; format: 'esm' | 'iife'; external?: string[]; minify?: boolean }) {
  const result = await esbuild.build({
    stdin: { contents, resolveDir: new URL('.', import.meta.url).pathname, loader: 'ts' },
    bundle: true,
    format: options.format,
    platform: 'browser',
    conditions: ['@haldir/source', ...options.conditions],
    external: options.external ?? [],
    minify: options.minify ?? false,
    metafile: true,
    write: false,
    logLevel: 'silent',
  })
  const code = (result.outputFiles[0] as esbuild.OutputFile).text
  return { code, gzipped: gzipSync(code, { level: 9 }).length, inputs: Object.keys(result.metafile.inputs) }
}
