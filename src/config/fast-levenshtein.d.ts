/** The part of fast-levenshtein (no type package of its own) that config/suggest.ts uses. */
declare module 'fast-levenshtein' {
  const levenshtein: {get(a: string, b: string, options?: {useCollator?: boolean}): number}
  export default levenshtein
}
