/** The figures of one benchmarked operation. */
export interface Measurement {
  name: string
  calls: number
  p50Us: number
  p99Us: number
  meanUs: number
  callsPerSecond: number
}

/**
 * Times `fn` call by call (after a warm-up) and reports percentiles in microseconds.
 * Sequential: one call in flight, so the percentiles are per-call latency.
 */
export async function measure(
  name: string,
  fn: () => Promise<unknown> | unknown,
  options: {
    calls?: number
    warmup?: number
    /** Awaited between calls, untimed (the mean still counts it): a turn of the event loop, say, as an agent has between tool calls. */
    between?: () => Promise<unknown>
  } = {},
): Promise<Measurement> {
  const calls = options.calls ?? 50_000
  const warmup = options.warmup ?? Math.min(10_000, calls)
  const { between } = options
  for (let index = 0; index < warmup; index++) await fn()
  const samples = new Float64Array(calls)
  const started = process.hrtime.bigint()
  for (let index = 0; index < calls; index++) {
    const before = process.hrtime.bigint()
    await fn()
    samples[index] = Number(process.hrtime.bigint() - before) / 1000
    if (between) await between()
  }
  const totalUs = Number(process.hrtime.bigint() - started) / 1000
  samples.sort()
  return {
    name,
    calls,
    p50Us: percentile(samples, 0.5),
    p99Us: percentile(samples, 0.99),
    meanUs: totalUs / calls,
    callsPerSecond: Math.round((calls / totalUs) * 1e6),
  }
}

/**
 * Fires `total` calls with at most `concurrency` in flight and reports throughput
 * (and per-call latency percentiles under that load).
 */
export async function measureConcurrent(
  name: string,
  fn: () => Promise<unknown>,
  options: { total: number; concurrency: number; warmup?: number },
): Promise<Measurement> {
  for (let index = 0; index < (options.warmup ?? Math.min(1000, options.total)); index++) await fn()
  const samples = new Float64Array(options.total)
  let next = 0
  const started = process.hrtime.bigint()
  const worker = async () => {
    while (next < options.total) {
      const index = next++
      const before = process.hrtime.bigint()
      await fn()
      samples[index] = Number(process.hrtime.bigint() - before) / 1000
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))
  const totalUs = Number(process.hrtime.bigint() - started) / 1000
  samples.sort()
  return {
    name,
    calls: options.total,
    p50Us: percentile(samples, 0.5),
    p99Us: percentile(samples, 0.99),
    meanUs: totalUs / options.total,
    callsPerSecond: Math.round((options.total / totalUs) * 1e6),
  }
}

/** The middle value of `values` (the upper of the two middle ones for an even count); 0 for none. */
export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0
}

/** The value at `fraction` of `sorted` (ascending), to two decimals. */
export function percentile(sorted: Float64Array, fraction: number): number {
  const index = Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))
  return Math.round((sorted[index] ?? 0) * 100) / 100
}

/** Prints measurements as a table with each row's ratio to the baseline row. */
export function report(title: string, baseline: Measurement, rows: readonly Measurement[]): void {
  console.log(`\n${title}`)
  console.log('| operation | calls | p50 µs | p99 µs | mean µs | calls/s | p50 ratio | mean ratio |')
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|')
  for (const row of [baseline, ...rows]) {
    const ratio = (value: number, base: number) => (base > 0 ? `${(value / base).toFixed(2)}×` : '–')
    console.log(
      `| ${row.name} | ${row.calls} | ${row.p50Us.toFixed(2)} | ${row.p99Us.toFixed(2)} | ${row.meanUs.toFixed(2)} | ${row.callsPerSecond.toLocaleString('en-US')} | ${ratio(row.p50Us, baseline.p50Us)} | ${ratio(row.meanUs, baseline.meanUs)} |`,
    )
  }
}

/**
 * Runs each variant's `measure` in turn, `rounds` times (A B A B …, so drift in the machine hits
 * all alike), and reports each variant's median p50, p99 and mean across the rounds.
 */
export async function interleaved(
  variants: readonly { name: string; run: () => Promise<Measurement> }[],
  rounds = Number(process.env.BENCH_ROUNDS ?? 5),
): Promise<Measurement[]> {
  const samples = new Map<string, Measurement[]>(variants.map((variant) => [variant.name, []]))
  for (let round = 0; round < rounds; round++) {
    for (const variant of variants) samples.get(variant.name)?.push(await variant.run())
  }
  return variants.map((variant) => {
    const all = samples.get(variant.name) ?? []
    const medianOf = (pick: (measurement: Measurement) => number) => median(all.map(pick))
    return {
      name: variant.name,
      calls: all.reduce((sum, measurement) => sum + measurement.calls, 0),
      p50Us: medianOf((measurement) => measurement.p50Us),
      p99Us: medianOf((measurement) => measurement.p99Us),
      meanUs: medianOf((measurement) => measurement.meanUs),
      callsPerSecond: medianOf((measurement) => measurement.callsPerSecond),
    }
  })
}

/**
 * How often this machine stops a busy thread, and for how long: a tight loop reads the clock for
 * `ms` milliseconds and counts the gaps of 10 µs or more. On a shared VM the gaps come at a steady
 * rate whatever runs, so an operation taking T µs is hit with probability about T × perMs / 1000:
 * the floor under any p99 taken here.
 */
export function probeStalls(ms = 1000): { perMs: number; medianUs: number } {
  const gaps: number[] = []
  const until = performance.now() + ms
  let last = process.hrtime.bigint()
  while (performance.now() < until) {
    const now = process.hrtime.bigint()
    const gap = Number(now - last) / 1000
    if (gap >= 10) gaps.push(gap)
    last = now
  }
  gaps.sort((a, b) => a - b)
  return { perMs: gaps.length / ms, medianUs: gaps[gaps.length >> 1] ?? 0 }
}
