import type { TokenUsage } from '@haldir/core'

/** The usage an AI SDK language model (specification v4) reports. */
export interface ModelUsage {
  inputTokens?: { total?: number | undefined; noCache?: number | undefined; cacheRead?: number | undefined; cacheWrite?: number | undefined } | undefined
  outputTokens?: { total?: number | undefined; text?: number | undefined; reasoning?: number | undefined } | undefined
}

/** The AI SDK's usage as Haldir prices it: totals, and how many were cached, cache-written or reasoning. */
export function toTokenUsage(usage: ModelUsage): TokenUsage {
  const input = usage.inputTokens
  const output = usage.outputTokens
  return {
    // A provider that gives only the parts still reports its total.
    inputTokens: input?.total ?? sum(input?.noCache, input?.cacheRead, input?.cacheWrite),
    cachedInputTokens: input?.cacheRead,
    cacheWriteInputTokens: input?.cacheWrite,
    outputTokens: output?.total ?? sum(output?.text, output?.reasoning),
    reasoningTokens: output?.reasoning,
  }
}

function sum(...counts: (number | undefined)[]): number | undefined {
  const known = counts.filter((count): count is number => typeof count === 'number')
  return known.length === 0 ? undefined : known.reduce((total, count) => total + count, 0)
}
