import type { TokenUsage } from '@haldir/core'
import type { UsageMetadata } from '@langchain/core/messages'

/**
 * LangChain's usage metadata as Haldir prices it: `input_tokens` and `output_tokens` are totals
 * (cache reads and writes, reasoning included), their details say how many were of each kind.
 */
export function toTokenUsage(usage: UsageMetadata): TokenUsage {
  return {
    inputTokens: usage.input_tokens,
    outputTokens: usage.output_tokens,
    cachedInputTokens: usage.input_token_details?.cache_read,
    cacheWriteInputTokens: usage.input_token_details?.cache_creation,
    reasoningTokens: usage.output_token_details?.reasoning,
  }
}
