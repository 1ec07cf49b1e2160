/**
 * The candidate closest to a misspelt name (edit distance, case-insensitive), or `undefined`
 * when none is close enough to be a plausible typo.
 *
 * @example
 * closestName('upstream', ['upstreams', 'session']) // 'upstreams'
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined
}

function editDistance(from: string, to: string): number {
  let previous = Array.from({ length: to.length + 1 }, (_, index) => index)
  for (let row = 1; row <= from.length; row++) {
    const current = [row]
    for (let column = 1; column <= to.length; column++) {
      const substitution = (previous[column - 1] as number) + (from[row - 1] === to[column - 1] ? 0 : 1)
      current[column] = Math.min((previous[column] as number) + 1, (current[column - 1] as number) + 1, substitution)
    }
    previous = current
  }
  return previous[to.length] as number
}
