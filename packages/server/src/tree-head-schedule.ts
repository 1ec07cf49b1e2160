import type { HaldirBackend } from '@haldir/core'

export interface TreeHeadSchedule {
  /** Stops the schedule and resolves once a run in progress has ended. */
  stop(): Promise<void>
}

/**
 * Signs and records a tree head for every tenant with new audit entries, every `everyMs`
 * (`backend.publishTreeHeads`): auditors get heads at a known rhythm even from tenants nobody
 * asks. Runs never overlap (the next is timed from the end of the last); a failure is reported
 * and the schedule goes on. A backend without `publishTreeHeads` gets no schedule. The timer
 * never keeps the process alive.
 */
export function scheduleTreeHeads(backend: HaldirBackend, { everyMs, onError }: { everyMs: number; onError: (error: unknown) => void }): TreeHeadSchedule {
  const publish = backend.publishTreeHeads?.bind(backend)
  if (!publish) return { stop: async () => {} }
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()
  let stopped = false
  const next = () => {
    timer = setTimeout(() => {
      running = publish()
        .then(
          () => {},
          (error: unknown) => onError(error),
        )
        .finally(() => {
          if (!stopped) next()
        })
    }, everyMs)
    timer.unref()
  }
  next()
  return {
    async stop() {
      stopped = true
      clearTimeout(timer)
      await running
    },
  }
}
