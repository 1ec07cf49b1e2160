/**
 * An environment variable, where the runtime has an environment: Node, Bun and Deno (with
 * `--allow-env`) do; browsers, edge runtimes and Workers without Node compatibility do not, and
 * Deno without the permission throws. Missing or unreadable reads as `undefined`, so an option
 * passed in code is the way to configure those runtimes.
 */
export function readEnv(name: string): string | undefined {
  try {
    return typeof process === 'undefined' ? undefined : process.env?.[name]
  } catch {
    return undefined
  }
}
