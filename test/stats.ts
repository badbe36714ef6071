/** Sampling checks shared by the tests that compare our random draws with PyTorch's (distribution-level). */

/** For each of the sorted `q`, how many of `x` are ≤ it (`le`) and < it (`lt`); one binary search per value. */
function countBelow(x: ArrayLike<number>, q: readonly number[]): {le: Float64Array; lt: Float64Array} {
  const le = new Float64Array(q.length + 1)
  const lt = new Float64Array(q.length + 1)
  for (let i = 0; i < x.length; i++) {
    const v = x[i]
    let lo = 0
    let hi = q.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (v <= q[mid]) hi = mid
      else lo = mid + 1
    }
    le[lo]++ // first quantile ≥ v
    while (lo < q.length && q[lo] === v) lo++
    lt[lo]++ // first quantile > v
  }
  const cumulative = (bins: Float64Array) => {
    let c = 0
    return bins.map((b) => (c += b)).subarray(0, q.length)
  }
  return {le: cumulative(le), lt: cumulative(lt)}
}

/**
 * Where `x`'s empirical CDF at a reference sample's quantiles `q` (at probabilities `probs`, from `nRef`
 * draws) is further from `probs` than `z` binomial standard errors of both samples (plus one draw):
 * p must lie in [P(x < q) − tol, P(x ≤ q) + tol], which allows an atom at q (a clipped value).
 * Quantiles with fewer than `minCount` expected draws beyond them in either sample are skipped (the
 * normal approximation of a count needs them). Empty when `x` is consistent with the reference.
 */
export function cdfProblems(x: ArrayLike<number>, q: readonly number[], probs: readonly number[], nRef: number, z = 6, minCount = 5): string[] {
  const n = x.length
  const {le, lt} = countBelow(x, q)
  const problems: string[] = []
  for (let k = 0; k < q.length; k++) {
    const p = probs[k]
    if (Math.min(n, nRef) * Math.min(p, 1 - p) < minCount) continue
    const tol = z * Math.sqrt(p * (1 - p) * (1 / n + 1 / nRef)) + 1 / n
    if (p < lt[k] / n - tol || p > le[k] / n + tol) problems.push(`P(x ≤ ${q[k]}) = ${(le[k] / n).toFixed(4)}, PyTorch ${p} (±${tol.toPrecision(2)})`)
  }
  return problems
}
