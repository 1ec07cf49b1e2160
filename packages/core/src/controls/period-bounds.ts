import { TZDate } from '@date-fns/tz'
// One module each: the package's root re-exports ~300 (a third of a second to load, and the CLI's
// every start paid it).
import { addDays } from 'date-fns/addDays'
import { addHours } from 'date-fns/addHours'
import { addMonths } from 'date-fns/addMonths'
import { addWeeks } from 'date-fns/addWeeks'
import { startOfDay } from 'date-fns/startOfDay'
import { startOfHour } from 'date-fns/startOfHour'
import { startOfISOWeek } from 'date-fns/startOfISOWeek'
import { startOfMonth } from 'date-fns/startOfMonth'
import type { CalendarPeriod } from '../backend/haldir-backend.ts'

/** The calendar period containing an instant: `[start, end)` in epoch milliseconds. */
export interface PeriodBounds {
  start: number
  end: number
}

// Time-zone arithmetic costs tens of microseconds; every call of a governed tool needs the
// bounds of its windows' periods, which change once an hour at most. The last bounds per
// (period, zone) are kept and reused while the instant stays inside them.
const recent = new Map<string, PeriodBounds>()

/**
 * The hour, day, ISO week (Monday first) or month containing `at` in `timeZone`, daylight
 * saving included (a day in a DST change lasts 23 or 25 hours).
 */
export function periodBounds(period: CalendarPeriod, timeZone: string, at: number): PeriodBounds {
  const key = `${period}\u0000${timeZone}`
  const known = recent.get(key)
  if (known && at >= known.start && at < known.end) return known
  const local = new TZDate(at, timeZone)
  let start: Date
  let end: Date
  switch (period) {
    case 'hour':
      start = startOfHour(local)
      end = addHours(start, 1)
      break
    case 'day':
      start = startOfDay(local)
      end = addDays(start, 1)
      break
    case 'week':
      start = startOfISOWeek(local)
      end = addWeeks(start, 1)
      break
    case 'month':
      start = startOfMonth(local)
      end = addMonths(start, 1)
      break
  }
  const bounds = { start: start.getTime(), end: end.getTime() }
  if (recent.size > 1000) recent.clear()
  recent.set(key, bounds)
  return bounds
}

/** Whether `timeZone` is an IANA zone this runtime knows (`Europe/Berlin`, `UTC`). */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone })
    return true
  } catch {
    return false
  }
}
