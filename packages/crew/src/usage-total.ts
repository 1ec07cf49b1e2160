import type { TaskOutput } from './task.ts'

export type TokenTotals = TaskOutput['usage']

/** A running sum of the tokens the crew's model calls used. */
export function createUsageTotal(): { totals: TokenTotals; add(usage: TokenTotals): void } {
  const totals: TokenTotals = { inputTokens: 0, outputTokens: 0, totalTokens: 0 }
  return {
    totals,
    add(usage) {
      totals.inputTokens += usage.inputTokens
      totals.outputTokens += usage.outputTokens
      totals.totalTokens += usage.totalTokens
    },
  }
}
