import { TZDate } from '@date-fns/tz'
import type { ActiveHoursRule } from '../backend/haldir-backend.ts'

const minutesOf = (hhmm: string): number => {
  const [hours, minutes] = hhmm.split(':').map(Number) as [number, number]
  return hours * 60 + minutes
}

// The local minute of the day, per zone and UTC minute: zone arithmetic is slow and the answer
// changes once a minute.
const localMinute = new Map<string, { utcMinute: number; minute: number }>()

function minuteOfDay(timeZone: string, at: number): number {
  const utcMinute = Math.floor(at / 60_000)
  const known = localMinute.get(timeZone)
  if (known && known.utcMinute === utcMinute) return known.minute
  const local = new TZDate(at, timeZone)
  const minute = local.getHours() * 60 + local.getMinutes()
  if (localMinute.size > 1000) localMinute.clear()
  localMinute.set(timeZone, { utcMinute, minute })
  return minute
}

/**
 * Whether `at` falls in the active hours (`start` included, `end` excluded; an `end` before
 * `start` spans midnight, e.g. 22:00–06:00), and if not, about how many seconds until they
 * begin (to the minute).
 */
export function activeHoursAt(rule: ActiveHoursRule, at: number): { open: true } | { open: false; retryAfterSeconds: number } {
  const now = minuteOfDay(rule.timeZone, at)
  const start = minutesOf(rule.start)
  const end = minutesOf(rule.end)
  const open = start <= end ? now >= start && now < end : now >= start || now < end
  if (open) return { open: true }
  const wait = (start - now + 24 * 60) % (24 * 60) || 24 * 60
  return { open: false, retryAfterSeconds: wait * 60 - Math.floor((at % 60_000) / 1000) }
}
