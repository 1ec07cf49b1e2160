/** Dollars with as many decimals as micro-dollar amounts need (2 to 6). */
export function usd(value: number | null): string {
  if (value === null) return 'no limit'
  const decimals = Math.min(6, Math.max(2, (String(value).split('.')[1] ?? '').length))
  return `$${value.toFixed(decimals)}`
}

export function when(value: number | string): string {
  return new Date(value).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z')
}

export function percent(value: number | null): string {
  return value === null ? '—' : `${value}%`
}
