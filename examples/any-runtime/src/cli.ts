// `node src/cli.ts URL KEY`, `bun src/cli.ts URL KEY`, `deno run --allow-net src/cli.ts URL KEY`.
import { runEverywhere } from './run-everywhere.ts'

const [url, apiKey] = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2)
if (!url || !apiKey) throw new Error('usage: cli.ts <haldir server url> <api key>')
console.log(JSON.stringify(await runEverywhere({ url, apiKey })))
