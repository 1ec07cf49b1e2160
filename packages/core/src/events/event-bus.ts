import type { HaldirEvent } from './haldir-event.ts'

export type EventListener = (event: HaldirEvent) => void

/** Where a backend's events go out, per tenant. */
export interface EventBus {
  emit(event: HaldirEvent): void
  /** Listens to one tenant's events; returns the unsubscribe. */
  subscribe(tenant: string, listener: EventListener): () => void
}

/**
 * In-process delivery. A listener runs after the change it reports is applied (never for a
 * decision that rolled back), on a later microtask, so a slow or throwing listener neither
 * delays nor fails the governed call; a throw is reported once through `onListenerError`.
 */
export function createEventBus(options: { onListenerError?: (error: unknown, event: HaldirEvent) => void } = {}): EventBus {
  const byTenant = new Map<string, Set<EventListener>>()
  const report = options.onListenerError ?? ((error: unknown) => queueMicrotask(() => console.error('haldir: an event listener threw', error)))
  return {
    emit(event) {
      const listeners = byTenant.get(event.tenant)
      if (!listeners || listeners.size === 0) return
      for (const listener of [...listeners]) {
        queueMicrotask(() => {
          try {
            listener(event)
          } catch (error) {
            report(error, event)
          }
        })
      }
    },
    subscribe(tenant, listener) {
      let listeners = byTenant.get(tenant)
      if (!listeners) byTenant.set(tenant, (listeners = new Set()))
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
        if (listeners.size === 0 && byTenant.get(tenant) === listeners) byTenant.delete(tenant)
      }
    },
  }
}
