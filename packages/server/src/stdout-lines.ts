/** Lines bound for standard output, written together once per turn of the event loop. */
export interface StdoutLines {
  write(line: string): void
  /** Writes what is pending now. */
  flush(): void
}

let shared: StdoutLines | undefined

/**
 * Standard output for the request log. On Linux a write to a pipe or a file is synchronous: one
 * per request was a system call on every answer (about 7% of a busy server's CPU, measured with
 * `bench/http.bench.ts`). Lines wait for the end of the current turn of the event loop and go out
 * in one write; what is pending when the process exits is written then, so a line is lost only
 * with the process itself (as any buffered log line would be). One per process: every server in
 * it shares the stream's order.
 */
export function stdoutLines(): StdoutLines {
  if (shared) return shared
  let pending: string[] = []
  let scheduled = false
  const later = typeof setImmediate === 'function' ? setImmediate : (callback: () => void) => setTimeout(callback, 0)
  const flush = () => {
    scheduled = false
    if (pending.length === 0) return
    const chunk = pending.join('')
    pending = []
    process.stdout.write(chunk)
  }
  process.once('exit', flush)
  shared = {
    write(line) {
      pending.push(`${line}\n`)
      if (!scheduled) {
        scheduled = true
        later(flush)
      }
    },
    flush,
  }
  return shared
}
