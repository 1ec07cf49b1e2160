import { ValidationError } from '../errors/validation-error.ts'

/**
 * Refuses an options object with a key the function does not take (a typo such as `spendlimit`
 * would otherwise be ignored and widen a permission), naming the key and the closest valid one.
 */
export function checkOptionKeys(options: unknown, allowed: readonly string[], path = 'options'): void {
  if (options === undefined) return
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ValidationError({ issues: [{ path, message: 'must be an object' }] })
  }
  const known = new Set(allowed)
  const issues = Object.keys(options)
    .filter((key) => !known.has(key))
    .map((key) => ({ path: path ? `${path}.${key}` : key, message: unknownKeyMessage(key, allowed) }))
  if (issues.length > 0) throw new ValidationError({ issues })
}

/** `unknown option 'spendlimit' (did you mean 'spendLimit'?)`, or the list of valid ones when nothing is close. */
export function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const closest = closestKey(key, allowed)
  return closest ? `unknown option '${key}' (did you mean '${closest}'?)` : `unknown option '${key}' (valid: ${allowed.join(', ')})`
}

function closestKey(key: string, allowed: readonly string[]): string | undefined {
  const lower = key.toLowerCase()
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of allowed) {
    if (candidate.toLowerCase() === lower) return candidate
    const distance = editDistance(lower, candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  // Close enough to be a slip of the keyboard: about a third of the word.
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined
}

/** Edits between two words, a swap of neighbouring letters counting as one (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  const at = (i: number, j: number) => (rows[i] as number[])[j] as number
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1)
      ;(rows[i] as number[])[j] = best
    }
  }
  return at(a.length, b.length)
}
