/**
 * The provider's model id of a LangChain chat model, as its integrations keep it (`model`, or the
 * older `modelName`, on ChatOpenAI, ChatAnthropic, ChatGoogleGenerativeAI, ChatMistralAI…), also
 * through a `bindTools` binding. `undefined` when the model does not say.
 */
export function modelIdOf(model: unknown): string | undefined {
  for (let current = model, depth = 0; typeof current === 'object' && current !== null && depth < 4; depth++) {
    const fields = current as { model?: unknown; modelName?: unknown; bound?: unknown }
    if (typeof fields.model === 'string' && fields.model !== '') return fields.model
    if (typeof fields.modelName === 'string' && fields.modelName !== '') return fields.modelName
    current = fields.bound
  }
  return undefined
}
