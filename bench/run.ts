// Runs every benchmark in bench/ (or those named on the command line) one after another.
import { readdirSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

const folder = new URL('.', import.meta.url)
const wanted = process.argv.slice(2)
const files = readdirSync(folder)
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => wanted.length === 0 || wanted.some((name) => file.startsWith(name)))
  .sort()
console.log(`node ${process.version}, ${new Date().toISOString()}`)
for (const file of files) {
  console.log(`\n## ${file}`)
  await import(pathToFileURL(new URL(file, folder).pathname).href)
}
