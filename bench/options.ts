/**
 * The benchmark scripts' numeric command-line options: the strings Node's `util.parseArgs` gives,
 * as numbers, refused with the option's name where they are not what the script needs.
 */

export interface NumberRule {
  /** The smallest value allowed (default 0). */
  min?: number
  /** Whole numbers only (counts: repeats, batches, images). */
  whole?: boolean
}

/** `raw` (option `--name`) as a number; undefined where the option was not given and has no default. */
export function numberOption(raw: string, name: string, rule?: NumberRule): number
export function numberOption(raw: string | undefined, name: string, rule?: NumberRule): number | undefined
export function numberOption(raw: string | undefined, name: string, {min = 0, whole = false}: NumberRule = {}): number | undefined {
  if (raw === undefined) return undefined
  const value = raw.trim() === '' ? NaN : Number(raw)
  if (!Number.isFinite(value) || value < min || (whole && !Number.isInteger(value))) throw new Error(`--${name} must be a ${whole ? 'whole number' : 'number'} of at least ${min}, not ${JSON.stringify(raw)}`)
  return value
}
