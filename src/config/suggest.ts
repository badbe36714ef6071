/**
 * "Did you mean …?": the nearest of some names to what was typed, by edit distance
 * (fast-levenshtein), ignoring case — for unknown spec keys and values, registry names and commands.
 */
import levenshtein from 'fast-levenshtein'

/** The candidate nearest to `word`, however far; undefined where there are none. */
export function nearest(word: string, candidates: Iterable<string>): {name: string; distance: number} | undefined {
  let best: {name: string; distance: number} | undefined
  for (const name of candidates) {
    const distance = levenshtein.get(word.toLowerCase(), name.toLowerCase())
    if (!best || distance < best.distance) best = {name, distance}
  }
  return best
}

/** The closest candidate within a distance that still looks like a typo, if any. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const best = nearest(word, candidates)
  return best && best.distance <= Math.max(2, Math.floor(word.length / 3)) ? best.name : undefined
}
