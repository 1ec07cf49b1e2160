/** The marker line that makes the fenced block right after it a snippet CI runs. */
export const SNIPPET_MARKER = '<!-- ci: runs from the packed packages -->'

/**
 * The code of every fenced block preceded by {@link SNIPPET_MARKER} in a README: the examples a
 * reader copies are the ones scripts/packed-install.ts runs against the published artifacts.
 */
export function readmeSnippets(markdown: string): string[] {
  const lines = markdown.split('\n')
  const snippets: string[] = []
  for (let index = 0; index < lines.length; index++) {
    if (lines[index]?.trim() !== SNIPPET_MARKER) continue
    const fence = /^(`{3,})\s*(ts|typescript|js|javascript)\s*$/.exec(lines[index + 1]?.trim() ?? '')
    if (!fence) throw new Error(`line ${index + 2}: ${SNIPPET_MARKER} must be followed by a \`\`\`ts block`)
    const end = lines.findIndex((line, at) => at > index + 1 && line.trim() === fence[1])
    if (end < 0) throw new Error(`line ${index + 2}: the block is never closed`)
    snippets.push(lines.slice(index + 2, end).join('\n'))
    index = end
  }
  return snippets
}
