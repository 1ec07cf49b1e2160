import { ValidationError } from '../errors/validation-error.ts'
import { MODEL_PRICES, MODEL_PRICES_CHECKED } from './model-prices.ts'
import { type TokenPrice, tokenCost } from './token-cost.ts'

export interface ModelPriceOptions {
  /** Prices of your own by model id, looked up before Haldir's table (a new model, a negotiated rate, another host). */
  prices?: Readonly<Record<string, TokenPrice>> | undefined
}

const TABLE = new Map<string, TokenPrice>()
for (const entry of MODEL_PRICES) for (const model of entry.models) TABLE.set(model, entry.price)

/**
 * A model's price from `prices`, else from Haldir's table of list prices ({@link MODEL_PRICES},
 * checked on {@link MODEL_PRICES_CHECKED}); `undefined` when neither has it. The id may carry a
 * gateway prefix (`openai/gpt-5.4`) or a dated snapshot suffix (`claude-sonnet-4-5-20250929`,
 * `gpt-4o-mini-2024-07-18`), which bill as their base model.
 */
export function findModelPrice(modelId: string, options: ModelPriceOptions = {}): TokenPrice | undefined {
  const own = options.prices
  if (own && Object.hasOwn(own, modelId)) return own[modelId]
  const base = baseModelId(modelId)
  if (own && Object.hasOwn(own, base)) return own[base]
  return TABLE.get(base)
}

/**
 * Like {@link findModelPrice}, but a model with no price is a `ValidationError` that says how to
 * give one: metering must never charge an unknown model $0. The price found is checked too.
 *
 * @example
 * modelPrice('gpt-5.4-mini') // { inputPerMTok: 0.75, cachedInputPerMTok: 0.075, outputPerMTok: 4.5 }
 * modelPrice('my-finetune', { prices: { 'my-finetune': { inputPerMTok: 3, outputPerMTok: 12 } } })
 */
export function modelPrice(modelId: string, options: ModelPriceOptions = {}): TokenPrice {
  if (typeof modelId !== 'string' || modelId === '') throw new ValidationError({ issues: [{ path: 'model', message: 'a model id is needed to look its price up' }] })
  const price = findModelPrice(modelId, options)
  if (price === undefined) {
    throw new ValidationError({
      message: `No price for model '${modelId}': Haldir's table (list prices checked ${MODEL_PRICES_CHECKED}) does not have it. Pass { price: { inputPerMTok, outputPerMTok } } or { prices: { '${modelId}': … } }`,
      issues: [{ path: 'price', message: `no price known for model '${modelId}'` }],
    })
  }
  tokenCost({}, price)
  return price
}

/** The id a price is kept under: lower case, no gateway prefix, no dated snapshot suffix. */
function baseModelId(modelId: string): string {
  return modelId
    .trim()
    .toLowerCase()
    .replace(/^(?:openai|anthropic|google|mistral|mistralai|models)\//, '')
    .replace(/-(?:\d{8}|\d{4}-\d{2}-\d{2})$/, '')
}
