import { type Haldir, type Hold, MODEL_CALL_ACTION, modelPrice, settleModelUsage, tokenCost, type TokenPrice, ValidationError } from '@haldir/core'
import { checkOptionKeys } from '@haldir/core/backend'
import { type LanguageModel, type LanguageModelMiddleware, wrapLanguageModel } from 'ai'
import { type ModelUsage, toTokenUsage } from './to-token-usage.ts'

export interface MeterModelOptions {
  haldir: Haldir
  /** The session charged for the model's tokens. */
  sessionId: string | (() => string)
  /**
   * USD per million tokens (input, output, and optionally cached input, cache writes, reasoning).
   * @default the model's list price in Haldir's table (`modelPrice`); a model it does not know is a `ValidationError`
   */
  price?: TokenPrice
  /** Prices by model id, looked up before Haldir's table (a model it does not list, a negotiated rate, another host). */
  prices?: Readonly<Record<string, TokenPrice>>
  /** Reserved before each call; a call the budget cannot hold is refused before it is made. */
  maxCost: number
  /** Name of the model in the audit trail and `byTool`. @default the model's id */
  auditName?: string
  /** @deprecated Use `auditName`; this alias goes in the next minor release. */
  name?: string
}

/**
 * Language-model middleware that meters every call against a Haldir budget: reserve `maxCost`
 * (a refusal throws the typed `BudgetExceededError` / `SessionRevokedError` … before the
 * provider is called), then settle by the reported token usage (cached input, cache writes and
 * reasoning at their own rates), rounded up to the micro-dollar. Without `price`, the model's is
 * looked up in `prices`, then Haldir's table, before its first call; a model neither knows is a
 * `ValidationError` before the provider is called. A stream settles on its `finish` part; one
 * that errors releases the hold.
 */
const METER_OPTIONS = ['haldir', 'sessionId', 'price', 'prices', 'maxCost', 'auditName', 'name'] as const

export function haldirModelMiddleware(options: MeterModelOptions): LanguageModelMiddleware {
  checkOptionKeys(options, METER_OPTIONS)
  const { haldir, maxCost } = options
  // Refuse a malformed price now, not at the first model call.
  if (options.price !== undefined) tokenCost({}, options.price)
  if (options.prices !== undefined && (typeof options.prices !== 'object' || options.prices === null || Array.isArray(options.prices))) {
    throw new ValidationError({ issues: [{ path: 'prices', message: 'must be an object of prices by model id' }] })
  }
  for (const [model, price] of Object.entries(options.prices ?? {})) modelPrice(model, { prices: { [model]: price } })
  if (typeof maxCost !== 'number') throw new ValidationError({ issues: [{ path: 'maxCost', message: 'is required' }] })
  // Without a price, each model's is looked up once, before its first call is reserved: a model
  // with no known price is refused before the provider is called, never metered at $0.
  const looked = new Map<string, TokenPrice>()
  const priceOf = (modelId: string): TokenPrice => {
    if (options.price !== undefined) return options.price
    let price = looked.get(modelId)
    if (!price) looked.set(modelId, (price = modelPrice(modelId, { prices: options.prices })))
    return price
  }
  const sessionOf = () => (typeof options.sessionId === 'function' ? options.sessionId() : options.sessionId)

  /** Reserves (a refusal throws the typed error), then calls the provider; a failed call releases the hold. */
  async function reserved<T>(modelId: string, kind: 'generate' | 'stream', call: () => PromiseLike<T>): Promise<{ hold: Hold; result: T; price: TokenPrice }> {
    const price = priceOf(modelId)
    const decision = await haldir.gate({ sessionId: sessionOf(), tool: options.auditName ?? options.name ?? modelId, action: MODEL_CALL_ACTION, maxCostUsd: maxCost, details: { kind } })
    if (!decision.allowed) throw decision.error
    const { hold } = decision
    try {
      return { hold, result: await call(), price }
    } catch (error) {
      await hold.release({ error, action: MODEL_CALL_ACTION })
      throw error
    }
  }

  async function settle(hold: Hold, usage: ModelUsage | undefined, price: TokenPrice, kind: 'generate' | 'stream'): Promise<void> {
    await settleModelUsage(hold, { usage: usage && toTokenUsage(usage), price, maxCost, kind })
  }

  return {
    specificationVersion: 'v4',
    async wrapGenerate({ doGenerate, model }) {
      const { hold, result, price } = await reserved(model.modelId, 'generate', doGenerate)
      await settle(hold, result.usage, price, 'generate')
      return result
    },
    async wrapStream({ doStream, model }) {
      const { hold, result, price } = await reserved(model.modelId, 'stream', doStream)
      let closed = false
      const close = async (usage: ModelUsage | undefined, error?: unknown) => {
        if (closed) return
        closed = true
        if (error !== undefined) await hold.release({ error, action: MODEL_CALL_ACTION })
        else await settle(hold, usage, price, 'stream')
      }
      const stream = result.stream.pipeThrough(
        new TransformStream({
          async transform(part, controller) {
            controller.enqueue(part)
            if (part.type === 'finish') await close(part.usage)
            else if (part.type === 'error') await close(undefined, part.error)
          },
          async flush() {
            // Ended without a finish part: tokens were likely spent, so the reservation is kept.
            await close(undefined)
          },
          async cancel(reason) {
            await close(undefined, reason ?? new Error('stream cancelled'))
          },
        }),
      )
      return { ...result, stream }
    },
  }
}

/**
 * A model whose every call is metered against a Haldir budget (see `haldirModelMiddleware`),
 * at the model's list price from Haldir's table unless `price` or `prices` says otherwise. A
 * model the table does not list is refused here, before any call.
 *
 * @example
 * const model = meterModel(openai('gpt-5.4-mini'), { haldir, sessionId, maxCost: 0.05 })
 * const tuned = meterModel(openai('ft:gpt-5.4-mini:acme'), { haldir, sessionId, price: { inputPerMTok: 1.5, outputPerMTok: 9 }, maxCost: 0.05 })
 */
export function meterModel(model: LanguageModel, options: MeterModelOptions): ReturnType<typeof wrapLanguageModel> {
  if (typeof model === 'string') {
    throw new ValidationError({ issues: [{ path: 'model', message: 'pass a model instance (a provider model), not a model id string' }] })
  }
  const instance = model as Exclude<LanguageModel, string>
  const price = options.price ?? modelPrice(instance.modelId, { prices: options.prices })
  return wrapLanguageModel({ model: instance, middleware: haldirModelMiddleware({ ...options, price }) })
}
