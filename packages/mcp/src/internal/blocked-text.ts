/** The refusal text the model reads: the same `BLOCKED: <reason>` as core's `deniedMessage`, for refusals that carry no gate entry. */
export function blockedText(reason: string): string {
  return `BLOCKED: ${reason}`
}
