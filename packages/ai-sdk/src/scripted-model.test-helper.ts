import type { LanguageModelV4StreamPart, LanguageModelV4Usage } from '@ai-sdk/provider'
import { MockLanguageModelV4 } from 'ai/test'

export const usage = (input: number, output: number) => ({
  inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: output, text: output, reasoning: undefined },
})

export type ScriptedTurn = { toolCalls: { name: string; input: unknown; id?: string }[] } | { text: string }

/** A MockLanguageModelV4 that plays turns in order (tool calls, then text), generating or streaming. */
export function scriptedModel(turns: ScriptedTurn[], tokens: ReturnType<typeof usage> | LanguageModelV4Usage = usage(100, 20), modelId = 'mock-model-id') {
  let index = 0
  const next = () => {
    const position = index++
    const turn = turns[Math.min(position, turns.length - 1)] as ScriptedTurn
    if ('text' in turn) return { content: [{ type: 'text' as const, text: turn.text }], finishReason: { unified: 'stop' as const, raw: undefined }, usage: tokens, warnings: [] }
    return {
      content: turn.toolCalls.map((call, order) => ({ type: 'tool-call' as const, toolCallId: call.id ?? `call_${position}_${order}`, toolName: call.name, input: JSON.stringify(call.input) })),
      finishReason: { unified: 'tool-calls' as const, raw: undefined },
      usage: tokens,
      warnings: [],
    }
  }
  return new MockLanguageModelV4({
    modelId,
    doGenerate: async () => next(),
    doStream: async () => {
      const result = next()
      const parts: LanguageModelV4StreamPart[] = [{ type: 'stream-start', warnings: [] }]
      for (const part of result.content) {
        if (part.type === 'text') parts.push({ type: 'text-start', id: 't' }, { type: 'text-delta', id: 't', delta: part.text }, { type: 'text-end', id: 't' })
        else parts.push(part)
      }
      parts.push({ type: 'finish', finishReason: result.finishReason, usage: result.usage })
      return { stream: new ReadableStream({ start: (controller) => (parts.forEach((part) => controller.enqueue(part)), controller.close()) }) }
    },
  })
}
