/**
 * Runs `run` once the current turn of the event loop is over (after every promise callback
 * already queued). Edge runtimes without `setImmediate` end the turn with a zero timer.
 */
export const nextTurn: (run: () => void) => void = typeof setImmediate === 'function' ? (run) => void setImmediate(run) : (run) => void setTimeout(run, 0)
