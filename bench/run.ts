// Runs every benchmark in bench/ (or those named on the command line) one after another.
import { readdirSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { probeStalls } from './measure.ts'

const folder = new URL('.', import.meta.url)
const wanted = process.argv.slice(2)
const files = readdirSync(folder)
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => wanted.length === 0 || wanted.some((name) => file.startsWith(name)))
  .sort()
console.log(`node ${process.version}, ${new Date().toISOString()}`)
// The machine's own pauses, read before the benches: they set how low a p99 can go here.
const stalls = probeStalls()
console.log(`machine stalls: ${stalls.perMs.toFixed(2)} per ms of a busy loop, median ${stalls.medianUs.toFixed(1)} µs (a call of T µs is hit about T × ${stalls.perMs.toFixed(2)} / 1000 of the time)`)
for (const file of files) {
  console.log(`\n## ${file}`)
  await import(pathToFileURL(new URL(file, folder).pathname).href)
}
