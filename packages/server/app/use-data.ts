import { useEffect, useState } from 'preact/hooks'

/** Loads `load()` whenever a dependency changes (the live tick among them); keeps the last data while reloading. */
export function useData<T>(load: () => Promise<T>, dependencies: readonly unknown[]): { data: T | undefined; error: Error | undefined } {
  const [state, setState] = useState<{ data: T | undefined; error: Error | undefined }>({ data: undefined, error: undefined })
  useEffect(() => {
    let current = true
    load().then(
      (data) => current && setState({ data, error: undefined }),
      (error: unknown) => current && setState((previous) => ({ data: previous.data, error: error instanceof Error ? error : new Error(String(error)) })),
    )
    return () => {
      current = false
    }
  }, dependencies)
  return state
}
