import type { TokenPrice } from './token-cost.ts'

/** A model's list price on its provider's own API. */
export interface ModelPriceEntry {
  provider: 'openai' | 'anthropic' | 'google' | 'mistral'
  /** The provider's API model ids (and aliases) that bill at this price. */
  models: readonly string[]
  price: TokenPrice
  /** The page the price was read from. */
  source: string
}

/** The day every price in {@link MODEL_PRICES} was last checked against its source. */
export const MODEL_PRICES_CHECKED = '2026-11-24'

const OPENAI = 'https://developers.openai.com/api/docs/pricing'
const ANTHROPIC = 'https://platform.claude.com/docs/en/about-claude/pricing'
const GOOGLE = 'https://ai.google.dev/gemini-api/docs/pricing'
const MISTRAL = 'https://docs.mistral.ai/inference/pricing'

// Standard (not batch, priority or regional) text-token prices in USD per million tokens, on the
// provider's own API. Reasoning tokens bill as output everywhere, so no entry sets
// `reasoningPerMTok`. Not priced here: tool fees (web search, code execution), Gemini's
// per-hour context-cache storage, Anthropic's 1-hour cache writes (priced as 5-minute writes,
// which the usage reports do not tell apart), audio and image tokens. Through another host
// (Bedrock, Vertex, Azure, a gateway) prices can differ: pass `price` there.
// How the table is kept: packages/core/README.md, "Model prices".
export const MODEL_PRICES: readonly ModelPriceEntry[] = [
  // OpenAI. Above 272K prompt tokens GPT-5.4 and later bill the whole request at the long-context rates.
  {
    provider: 'openai',
    models: ['gpt-6.2-sol'],
    price: {
      inputPerMTok: 2,
      cachedInputPerMTok: 0.1,
      cacheWriteInputPerMTok: 2.5,
      outputPerMTok: 10,
      longContext: { aboveInputTokens: 272_000, inputPerMTok: 4, cachedInputPerMTok: 0.2, cacheWriteInputPerMTok: 5, outputPerMTok: 15 },
    },
    source: 'https://developers.openai.com/api/docs/models/gpt-6.2-sol',
  },
  {
    provider: 'openai',
    models: ['gpt-5.6-sol'],
    price: {
      inputPerMTok: 5,
      cachedInputPerMTok: 0.5,
      cacheWriteInputPerMTok: 6.25,
      outputPerMTok: 30,
      longContext: { aboveInputTokens: 272_000, inputPerMTok: 10, cachedInputPerMTok: 1, cacheWriteInputPerMTok: 12.5, outputPerMTok: 45 },
    },
    source: OPENAI,
  },
  {
    provider: 'openai',
    models: ['gpt-5.5'],
    price: {
      inputPerMTok: 5,
      cachedInputPerMTok: 0.5,
      outputPerMTok: 30,
      longContext: { aboveInputTokens: 272_000, inputPerMTok: 10, cachedInputPerMTok: 1, outputPerMTok: 45 },
    },
    source: OPENAI,
  },
  {
    provider: 'openai',
    models: ['gpt-5.4'],
    price: {
      inputPerMTok: 2.5,
      cachedInputPerMTok: 0.25,
      outputPerMTok: 15,
      longContext: { aboveInputTokens: 272_000, inputPerMTok: 5, cachedInputPerMTok: 0.5, outputPerMTok: 22.5 },
    },
    source: OPENAI,
  },
  { provider: 'openai', models: ['gpt-5.4-mini'], price: { inputPerMTok: 0.75, cachedInputPerMTok: 0.075, outputPerMTok: 4.5 }, source: OPENAI },
  { provider: 'openai', models: ['gpt-5.4-nano'], price: { inputPerMTok: 0.2, cachedInputPerMTok: 0.02, outputPerMTok: 1.25 }, source: OPENAI },
  { provider: 'openai', models: ['gpt-5-mini'], price: { inputPerMTok: 0.25, cachedInputPerMTok: 0.025, outputPerMTok: 2 }, source: OPENAI },
  { provider: 'openai', models: ['gpt-4.1'], price: { inputPerMTok: 2, cachedInputPerMTok: 0.5, outputPerMTok: 8 }, source: OPENAI },
  { provider: 'openai', models: ['gpt-4.1-mini'], price: { inputPerMTok: 0.4, cachedInputPerMTok: 0.1, outputPerMTok: 1.6 }, source: OPENAI },
  { provider: 'openai', models: ['gpt-4o'], price: { inputPerMTok: 2.5, cachedInputPerMTok: 1.25, outputPerMTok: 10 }, source: OPENAI },
  { provider: 'openai', models: ['gpt-4o-mini'], price: { inputPerMTok: 0.15, cachedInputPerMTok: 0.075, outputPerMTok: 0.6 }, source: OPENAI },

  // Anthropic: cache writes are the 5-minute rate (1.25× input), cache reads 0.1× (0.05× on the 5.5 models).
  {
    provider: 'anthropic',
    models: ['claude-opus-5-5'],
    price: { inputPerMTok: 4, cacheWriteInputPerMTok: 5, cachedInputPerMTok: 0.2, outputPerMTok: 20 },
    source: 'https://platform.claude.com/docs/en/models/opus-5-5/overview',
  },
  {
    provider: 'anthropic',
    models: ['claude-sonnet-5-5'],
    price: { inputPerMTok: 2, cacheWriteInputPerMTok: 2.5, cachedInputPerMTok: 0.2, outputPerMTok: 10 },
    source: 'https://platform.claude.com/docs/en/models/sonnet-5-5/overview',
  },
  {
    // Above 100K prompt tokens (cache reads and writes included) the whole request bills at 5×.
    provider: 'anthropic',
    models: ['claude-haiku-5-5'],
    price: {
      inputPerMTok: 0.1,
      cacheWriteInputPerMTok: 0.125,
      cachedInputPerMTok: 0.01,
      outputPerMTok: 0.5,
      longContext: { aboveInputTokens: 100_000, inputPerMTok: 0.5, cacheWriteInputPerMTok: 0.625, cachedInputPerMTok: 0.05, outputPerMTok: 2.5 },
    },
    source: 'https://platform.claude.com/docs/en/models/haiku-5-5/overview',
  },
  {
    provider: 'anthropic',
    models: ['claude-opus-5', 'claude-opus-4-8', 'claude-opus-4-7', 'claude-opus-4-6', 'claude-opus-4-5'],
    price: { inputPerMTok: 5, cacheWriteInputPerMTok: 6.25, cachedInputPerMTok: 0.5, outputPerMTok: 25 },
    source: ANTHROPIC,
  },
  {
    provider: 'anthropic',
    models: ['claude-sonnet-5'],
    price: { inputPerMTok: 2, cacheWriteInputPerMTok: 2.5, cachedInputPerMTok: 0.2, outputPerMTok: 10 },
    source: 'https://platform.claude.com/docs/en/models/sonnet-5/overview',
  },
  { provider: 'anthropic', models: ['claude-sonnet-4-6'], price: { inputPerMTok: 3, cacheWriteInputPerMTok: 3.75, cachedInputPerMTok: 0.3, outputPerMTok: 15 }, source: ANTHROPIC },
  {
    // With the 1M-token context, prompts above 200K bill the whole request at the long-context rates.
    provider: 'anthropic',
    models: ['claude-sonnet-4-5', 'claude-sonnet-4-0', 'claude-sonnet-4'],
    price: {
      inputPerMTok: 3,
      cacheWriteInputPerMTok: 3.75,
      cachedInputPerMTok: 0.3,
      outputPerMTok: 15,
      longContext: { aboveInputTokens: 200_000, inputPerMTok: 6, cacheWriteInputPerMTok: 7.5, cachedInputPerMTok: 0.6, outputPerMTok: 22.5 },
    },
    source: ANTHROPIC,
  },
  { provider: 'anthropic', models: ['claude-haiku-4-5'], price: { inputPerMTok: 1, cacheWriteInputPerMTok: 1.25, cachedInputPerMTok: 0.1, outputPerMTok: 5 }, source: ANTHROPIC },
  {
    provider: 'anthropic',
    models: ['claude-opus-4-1', 'claude-opus-4-0', 'claude-opus-4'],
    price: { inputPerMTok: 15, cacheWriteInputPerMTok: 18.75, cachedInputPerMTok: 1.5, outputPerMTok: 75 },
    source: ANTHROPIC,
  },

  // Google (output includes thinking tokens). Above 200K prompt tokens Pro models bill the whole request at the long-context rates.
  {
    provider: 'google',
    models: ['gemini-3.1-pro-preview', 'gemini-3.1-pro'],
    price: { inputPerMTok: 2, cachedInputPerMTok: 0.2, outputPerMTok: 12, longContext: { aboveInputTokens: 200_000, inputPerMTok: 4, cachedInputPerMTok: 0.4, outputPerMTok: 18 } },
    source: GOOGLE,
  },
  { provider: 'google', models: ['gemini-3.5-flash'], price: { inputPerMTok: 1.5, cachedInputPerMTok: 0.15, outputPerMTok: 9 }, source: GOOGLE },
  { provider: 'google', models: ['gemini-3.1-flash-lite', 'gemini-3.1-flash-lite-preview'], price: { inputPerMTok: 0.25, cachedInputPerMTok: 0.025, outputPerMTok: 1.5 }, source: GOOGLE },
  {
    provider: 'google',
    models: ['gemini-2.5-pro'],
    price: { inputPerMTok: 1.25, cachedInputPerMTok: 0.125, outputPerMTok: 10, longContext: { aboveInputTokens: 200_000, inputPerMTok: 2.5, cachedInputPerMTok: 0.25, outputPerMTok: 15 } },
    source: GOOGLE,
  },
  { provider: 'google', models: ['gemini-2.5-flash'], price: { inputPerMTok: 0.3, cachedInputPerMTok: 0.03, outputPerMTok: 2.5 }, source: GOOGLE },
  { provider: 'google', models: ['gemini-2.5-flash-lite'], price: { inputPerMTok: 0.1, cachedInputPerMTok: 0.01, outputPerMTok: 0.4 }, source: GOOGLE },

  // Mistral: dated ids, and a `-latest` alias only where the source names the model it resolved to
  // (mistral-large-latest is left out: it moves between Large 3 and Large 4, at different prices).
  {
    provider: 'mistral',
    models: ['mistral-medium-3.5', 'mistral-medium-2604', 'mistral-medium-latest'],
    price: { inputPerMTok: 1.5, cachedInputPerMTok: 0.15, outputPerMTok: 7.5 },
    source: 'https://docs.mistral.ai/models/mistral-medium-3-5-26-04',
  },
  { provider: 'mistral', models: ['mistral-large-2512'], price: { inputPerMTok: 0.5, outputPerMTok: 1.5 }, source: MISTRAL },
  { provider: 'mistral', models: ['codestral-2508', 'codestral-latest'], price: { inputPerMTok: 0.3, cachedInputPerMTok: 0.03, outputPerMTok: 0.9 }, source: 'https://docs.mistral.ai/models/codestral-25-08' },
]
