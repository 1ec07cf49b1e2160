// The last time asked for and its text: calls in the same millisecond (most of a busy gate's)
// share one `toISOString`, which costs more than the rest of an entry's fields together.
let lastMs = Number.NaN
let lastText = ''

/** `new Date(ms).toISOString()`, remembered for the latest millisecond. */
export function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastText = new Date(ms).toISOString()
    lastMs = ms
  }
  return lastText
}
