import type { Hold, ReleaseOptions, SettleOptions } from '../types.ts'

/** Where a hold made by this client keeps its queued settle and release (not part of the public type). */
export const deferred = Symbol('haldir.deferredHold')

/** Settle and release that return once queued: the caller has its result, the entry is written after. */
export interface DeferredClose {
  settleLater(actualUsd: number, options?: SettleOptions): void
  releaseLater(options?: ReleaseOptions): void
  /** `settleLater(actualUsd, { details: { durationMs } })`, the governed call's own settle, without parsing options it wrote itself. */
  settleTimed(actualUsd: number, durationMs: number): void
}

/** The queued close of a hold, when its client defers settles (`settle: 'deferred'`, the default). */
export function deferredClose(hold: Hold): DeferredClose | undefined {
  return (hold as Hold & { [deferred]?: DeferredClose })[deferred]
}
