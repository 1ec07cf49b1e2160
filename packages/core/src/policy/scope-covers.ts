/**
 * Whether a parent's scope pattern covers a child's pattern entirely (attenuation): `*` covers
 * all, `db:*` covers `db:write` and `db:admin:*`, an exact scope covers only itself.
 */
export function scopeCovers(parentPattern: string, childPattern: string): boolean {
  if (parentPattern === '*' || parentPattern === childPattern) return true
  if (!parentPattern.endsWith('*')) return false
  return childPattern.startsWith(parentPattern.slice(0, -1))
}
