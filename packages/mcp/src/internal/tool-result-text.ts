/** The text parts of a tool result, joined (what an audit reason quotes of a tool's own error). */
export function toolResultText(result: { content?: unknown }): string {
  return (Array.isArray(result.content) ? (result.content as unknown[]) : [])
    .map((part) => (typeof part === 'object' && part !== null && (part as { type?: unknown }).type === 'text' ? String((part as { text?: unknown }).text ?? '') : ''))
    .filter(Boolean)
    .join('\n')
}
