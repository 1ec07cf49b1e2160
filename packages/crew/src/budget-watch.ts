import type { Haldir } from '@haldir/core'

/** A crew budget threshold was crossed (each fires once per kickoff). */
export interface BudgetEvent {
  /** The threshold crossed, as a fraction of the budget (0.5, 0.8, 1). */
  threshold: number
  spentUsd: number
  limitUsd: number
  remainingUsd: number
}

export interface BudgetWatch {
  /** Reads the crew's spend and fires every threshold it has reached. */
  check(): Promise<void>
  /** A charge was refused by the crew limit: the budget is spent for practical purposes. */
  exhaust(): Promise<void>
  /** Stops listening to events. */
  close(): void
  readonly exhausted: boolean
}

/** Fires `onBudget` once per threshold as the crew session's spend rises. */
export function createBudgetWatch(options: {
  haldir: Haldir
  crewSessionId: string
  thresholds: readonly number[]
  onBudget?: (event: BudgetEvent) => void | Promise<void>
}): BudgetWatch {
  const fired = new Set<number>()
  const ordered = [...options.thresholds].sort((a, b) => a - b)
  let exhausted = false

  // The engine raises `threshold.crossed` the moment a charge crosses one (the crew session
  // carries these thresholds as its alerts): the callback fires then, mid-task. `check()` after
  // each step stays the backstop where a backend has no events (or they arrive late).
  let unsubscribe: () => void = () => {}
  try {
    unsubscribe = options.haldir.on('*', (event) => {
      if (event.sessionId !== options.crewSessionId) return
      if (event.type === 'threshold.crossed' && event.data.limit === 'limit') void fire(Number(event.data.threshold))
      else if (event.type === 'budget.exhausted' && event.data.limit === 'limit') void fire(1)
    })
  } catch {
    // No events from this backend: `check()` alone.
  }

  async function fire(upTo: number): Promise<void> {
    const spend = await options.haldir.getSpend(options.crewSessionId)
    if (spend.limitUsd === null) return
    const reached = Math.max(upTo, spend.limitUsd === 0 ? 1 : spend.totalUsd / spend.limitUsd)
    if (reached >= 1) exhausted = true
    for (const threshold of ordered) {
      if (threshold > reached || fired.has(threshold)) continue
      fired.add(threshold)
      await options.onBudget?.({ threshold, spentUsd: spend.totalUsd, limitUsd: spend.limitUsd, remainingUsd: spend.remainingUsd ?? 0 })
    }
  }

  return {
    check: () => fire(0),
    exhaust: () => fire(1),
    close: () => unsubscribe(),
    get exhausted() {
      return exhausted
    },
  }
}
