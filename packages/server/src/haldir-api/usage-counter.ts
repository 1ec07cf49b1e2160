/** Authenticated requests per tenant and calendar month (UTC), as upstream's `GET /v1/usage` reports them. */
export interface UsageCounter {
  /** Counts one authenticated request of the tenant (or `requests` of them: a batch), now. */
  record(tenant: string, requests?: number): void
  /** The tenant's count for a month (`YYYY-MM`); 0 when none was counted. */
  count(tenant: string, month: string): number
}

/** The current month as `YYYY-MM` (UTC). */
export function currentMonth(now = new Date()): string {
  return now.toISOString().slice(0, 7)
}

/**
 * Counts in this process's memory, per tenant and month (upstream counts in its database; a
 * restart here starts the month's count again). Bounded: a tenant costs one small map.
 */
export function usageCounter(now: () => Date = () => new Date()): UsageCounter {
  const counts = new Map<string, Map<string, number>>()
  return {
    record(tenant, requests = 1) {
      const month = currentMonth(now())
      let months = counts.get(tenant)
      if (!months) counts.set(tenant, (months = new Map()))
      months.set(month, (months.get(month) ?? 0) + requests)
    },
    count: (tenant, month) => counts.get(tenant)?.get(month) ?? 0,
  }
}
