import { EMPTY_ROOT, nodeHash } from './merkle-hash.ts'

// A proof comes from outside: anything but SHA-256 hex in it is a refusal, not a throw.
const isHash = (text: unknown): boolean => typeof text === 'string' && /^[0-9a-f]{64}$/i.test(text)

/**
 * Checks an RFC 6962 inclusion proof (RFC 9162 §2.1.3.2): the audit path, bottom-up, leads from
 * the leaf hash at `index` to `root` in a tree of `size` leaves, consuming every element. Pure;
 * for auditors, with nothing of Haldir but the proof.
 */
export function verifyInclusion(proof: { leafHash: string; index: number; size: number; path: readonly string[]; root: string }): boolean {
  const { leafHash, index, size, path, root } = proof
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return false
  if (!isHash(leafHash) || !isHash(root) || !path.every(isHash)) return false
  let fn = index
  let sn = size - 1
  let r = leafHash.toLowerCase()
  for (const p of path) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2)
          sn = Math.floor(sn / 2)
        }
      }
    } else {
      r = nodeHash(r, p)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && r === root.toLowerCase()
}

/**
 * Checks an RFC 6962 consistency proof (RFC 9162 §2.1.4.2): the tree of `first` leaves with root
 * `firstRoot` is a prefix of the tree of `second` leaves with root `secondRoot`. `first = 0` is
 * consistent with anything (empty proof); `first = second` needs equal roots and an empty proof.
 */
export function verifyConsistency(proof: { first: number; second: number; firstRoot: string; secondRoot: string; path: readonly string[] }): boolean {
  const { first, second, path } = proof
  if (!isHash(proof.firstRoot) || !isHash(proof.secondRoot) || !path.every(isHash)) return false
  const firstRoot = proof.firstRoot.toLowerCase()
  const secondRoot = proof.secondRoot.toLowerCase()
  if (!Number.isInteger(first) || !Number.isInteger(second) || first < 0 || first > second) return false
  if (first === 0) return path.length === 0 && firstRoot === EMPTY_ROOT
  if (first === second) return path.length === 0 && firstRoot === secondRoot
  if (path.length === 0) return false
  const nodes = [...path]
  // When the first tree is a complete left subtree of the second, its root starts the walk.
  if ((first & (first - 1)) === 0) nodes.unshift(firstRoot)
  let fn = first - 1
  let sn = second - 1
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  let fr = nodes[0] as string | undefined
  let sr = fr
  if (fr === undefined) return false
  for (const c of nodes.slice(1)) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr as string)
      sr = nodeHash(c, sr as string)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2)
          sn = Math.floor(sn / 2)
        }
      }
    } else {
      sr = nodeHash(sr as string, c)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && fr === firstRoot && sr === secondRoot
}
