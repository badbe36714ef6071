/** Errors about a spec: each problem names the file, line:column and dotted path. CLI exit code 2. */
import {suggest} from './suggest.js'

export interface Origin {
  file: string
  line?: number
  col?: number
}

export interface Problem {
  origin?: Origin
  /** Dotted path inside the spec, e.g. `model.components[1].depth`. */
  path: string
  message: string
}

/** The most characters of one value a message echoes: a value, or a `--set` that gave it, may be megabytes long. */
export const MAX_ECHO = 200

/** `text` as a message echoes it: its first MAX_ECHO characters, then how long it is. */
export function clip(text: string): string {
  return text.length <= MAX_ECHO ? text : `${text.slice(0, MAX_ECHO)}… (${text.length.toLocaleString('en-US')} characters in all)`
}

export function formatOrigin(o?: Origin): string {
  if (!o) return '<spec>'
  // The file is a `--set key=value` where an override gave the value.
  return o.line ? `${o.file}:${o.line}:${o.col ?? 1}` : clip(o.file)
}

export function formatProblem(p: Problem): string {
  return `${formatOrigin(p.origin)}: ${p.path ? `${clip(p.path)}: ` : ''}${p.message}`
}

/** The most problems a message lists; the rest are counted ("… and N more"). */
export const MAX_PROBLEMS_SHOWN = 50

export class SpecError extends Error {
  readonly exitCode = 2
  constructor(
    readonly problems: Problem[],
    readonly file?: string,
    /** Settings that are valid but change nothing, found before the problems (validate --json lists them beside the error). */
    readonly warnings: Problem[] = [],
  ) {
    const head = file ? `invalid spec ${file}` : 'invalid spec'
    const shown = problems.slice(0, MAX_PROBLEMS_SHOWN).map((p) => `  ${formatProblem(p)}`)
    if (problems.length > MAX_PROBLEMS_SHOWN) shown.push(`  … and ${problems.length - MAX_PROBLEMS_SHOWN} more`)
    super(problems.length === 1 ? `${head}: ${formatProblem(problems[0])}` : `${head} (${problems.length} problems):\n${shown.join('\n')}`)
    this.name = 'SpecError'
  }
}

/**
 * What to say of `name`, which no entry of `kind` in the registry has (or of a missing name:
 * undefined): the nearest registered name where one is near, every registered one, and how to add more.
 */
export function unknownEntry(kind: string, name: unknown, registered: string[]): string {
  const guess = typeof name === 'string' ? suggest(name, registered) : undefined
  const what = name === undefined ? 'needs a type' : `unknown ${kind} ${clip(JSON.stringify(name) ?? String(name))}`
  return `${what}${guess ? `, did you mean ${guess}?` : ''}; registered: ${registered.join(', ')} (a plugin file listed under plugins: can add more)`
}
