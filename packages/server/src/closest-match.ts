/**
 * The candidate nearest to a mistyped word, for "did you mean …" hints: one the word is the
 * start of, else the nearest by edit distance (at most a third of the word's length, and at
 * least 2); `undefined` when nothing is close.
 */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase()
  // A shortened name (`duration` for `durationSeconds`) is its own kind of typo.
  const extended = lower.length >= 3 ? candidates.find((candidate) => candidate.toLowerCase().startsWith(lower)) : undefined
  if (extended !== undefined) return extended
  let best: { candidate: string; distance: number } | undefined
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase())
    if (!best || distance < best.distance) best = { candidate, distance }
  }
  return best && best.distance <= Math.max(2, Math.floor(word.length / 3)) ? best.candidate : undefined
}

// Levenshtein distance over one rolling row.
function editDistance(from: string, to: string): number {
  const row = Array.from({ length: to.length + 1 }, (_, index) => index)
  for (let i = 1; i <= from.length; i++) {
    let diagonal = row[0] as number
    row[0] = i
    for (let j = 1; j <= to.length; j++) {
      const above = row[j] as number
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (from[i - 1] === to[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return row[to.length] as number
}
