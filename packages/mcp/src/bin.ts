#!/usr/bin/env node
// The `haldir-mcp` command. It checks the Node version before loading the CLI: on an older Node the
// CLI's dependencies fail with errors that do not say why. The minimum is package.json's engines.
import { createRequire } from 'node:module'

const { engines } = createRequire(import.meta.url)('../package.json') as { engines: { node: string } }
const minimum = engines.node.replace(/^>=\s*/, '')
const wanted = minimum.split('.').map(Number)
const found = process.versions.node.split('.').map(Number)
const difference = wanted.map((part, index) => (found[index] ?? 0) - part).find((delta) => delta !== 0) ?? 0
if (difference < 0) {
  process.stderr.write(`haldir-mcp needs Node.js ${minimum} or later; this is Node ${process.version}. Install a newer Node (for example \`nvm install 24\`) and run it again.\n`)
  process.exit(1)
}
await import('./cli.ts')
