import { ValidationError } from '@haldir/core'
import { closestMatch } from './closest-match.ts'

/**
 * Refuses an options object with a key the function does not know (`ratelimits`, `perkey` …),
 * naming the nearest known key: a typo must not silently leave a limit at its default.
 */
export function rejectUnknownOptions(options: object, known: readonly string[], path: string): void {
  const issues = Object.keys(options)
    .filter((name) => !known.includes(name))
    .map((name) => {
      const nearest = closestMatch(name, known)
      return { path: `${path}.${name}`, message: `is not an option${nearest ? ` (did you mean ${nearest}?)` : ''}; options: ${known.join(', ')}` }
    })
  if (issues.length > 0) throw new ValidationError({ issues })
}
