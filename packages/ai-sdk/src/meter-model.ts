import { type Haldir, type Hold, MODEL_CALL_ACTION, settleModelUsage, tokenCost, type TokenPrice, ValidationError } from '@haldir/core'
import { checkOptionKeys } from '@haldir/core/backend'
import { type LanguageModel, type LanguageModelMiddleware, wrapLanguageModel } from 'ai'

export interface MeterModelOptions {
  haldir: Haldir
  /** The session charged for the model's tokens. */
  sessionId: string | (() => string)
  /** USD per million input and output tokens. */
  price: TokenPrice
  /** Reserved before each call; a call the budget cannot hold is refused before it is made. */
  maxCost: number
  /** Name of the model in the audit trail and `byTool`. @default the model's id */
  auditName?: string
  /** @deprecated Use `auditName`; this alias goes in the next minor release. */
  name?: string
}

interface UsageV4 {
  inputTokens?: { total?: number | undefined } | undefined
  outputTokens?: { total?: number | undefined } | undefined
}

/**
 * Language-model middleware that meters every call against a Haldir budget: reserve `maxCost`
 * (a refusal throws the typed `BudgetExceededError` / `SessionRevokedError` … before the
 * provider is called), then settle by the reported token usage, rounded up to the
 * micro-dollar. A stream settles on its `finish` part; one that errors releases the hold.
 */
const METER_OPTIONS = ['haldir', 'sessionId', 'price', 'maxCost', 'auditName', 'name'] as const

export function haldirModelMiddleware(options: MeterModelOptions): LanguageModelMiddleware {
  checkOptionKeys(options, METER_OPTIONS)
  const { haldir, price, maxCost } = options
  // Refuse a malformed price now, not at the first model call.
  tokenCost({}, price)
  if (typeof maxCost !== 'number') throw new ValidationError({ issues: [{ path: 'maxCost', message: 'is required' }] })
  const sessionOf = () => (typeof options.sessionId === 'function' ? options.sessionId() : options.sessionId)

  /** Reserves (a refusal throws the typed error), then calls the provider; a failed call releases the hold. */
  async function reserved<T>(modelId: string, kind: 'generate' | 'stream', call: () => PromiseLike<T>): Promise<{ hold: Hold; result: T }> {
    const decision = await haldir.gate({ sessionId: sessionOf(), tool: options.auditName ?? options.name ?? modelId, action: MODEL_CALL_ACTION, maxCostUsd: maxCost, details: { kind } })
    if (!decision.allowed) throw decision.error
    const { hold } = decision
    try {
      return { hold, result: await call() }
    } catch (error) {
      await hold.release({ error, action: MODEL_CALL_ACTION })
      throw error
    }
  }

  async function settle(hold: Hold, usage: UsageV4 | undefined, kind: 'generate' | 'stream'): Promise<void> {
    await settleModelUsage(hold, { usage: usage && { inputTokens: usage.inputTokens?.total, outputTokens: usage.outputTokens?.total }, price, maxCost, kind })
  }

  return {
    specificationVersion: 'v4',
    async wrapGenerate({ doGenerate, model }) {
      const { hold, result } = await reserved(model.modelId, 'generate', doGenerate)
      await settle(hold, result.usage, 'generate')
      return result
    },
    async wrapStream({ doStream, model }) {
      const { hold, result } = await reserved(model.modelId, 'stream', doStream)
      let closed = false
      const close = async (usage: UsageV4 | undefined, error?: unknown) => {
        if (closed) return
        closed = true
        if (error !== undefined) await hold.release({ error, action: MODEL_CALL_ACTION })
        else await settle(hold, usage, 'stream')
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
 * A model whose every call is metered against a Haldir budget (see `haldirModelMiddleware`).
 *
 * @example
 * const model = meterModel(openai('gpt-4.1-mini'), { haldir, sessionId, price: { inputPerMTok: 0.4, outputPerMTok: 1.6 }, maxCost: 0.05 })
 */
export function meterModel(model: LanguageModel, options: MeterModelOptions): ReturnType<typeof wrapLanguageModel> {
  if (typeof model === 'string') {
    throw new ValidationError({ issues: [{ path: 'model', message: 'pass a model instance (a provider model), not a model id string' }] })
  }
  return wrapLanguageModel({ model: model as Exclude<LanguageModel, string>, middleware: haldirModelMiddleware(options) })
}
