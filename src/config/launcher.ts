/**
 * Where a sweep's points run: `local` (this machine; `jobs` points at once) or `slurm` (one job
 * array on a cluster). The settings come from the sweep file's `launcher:` block and from the
 * command line (`--launcher`, `--slurm key=value`, `--jobs`), the command line winning key by key,
 * and are checked against one JSON Schema like a spec: an unknown key or a bad value is a problem
 * naming file:line (or the flag) and the dotted path.
 *
 *   sweep:
 *     launcher:
 *       type: slurm
 *       partition: gpu
 *       gpus_per_task: 1
 *       time: "02:00:00"
 *       max_parallel: 6
 *       setup: ["module load nodejs/20"]     # shell lines run before mixture, in each job
 *       extra: {exclusive: true}             # any other sbatch option, by its long name
 */
import {parseDocument} from 'yaml'
import {SpecError, type Origin, type Problem} from './errors.js'
import {isObject, joinPath, originOf, type Json, type JsonObject, type Origins} from './load.js'
import {schemaProblems} from './validate.js'

export const LAUNCHERS = ['local', 'slurm'] as const
export type LauncherType = (typeof LAUNCHERS)[number]

export interface Launcher {
  type: LauncherType
  /** local: points trained at once (each in its own process). */
  jobs?: number
  partition?: string
  gpus_per_task?: number
  cpus_per_task?: number
  /** Memory per task: `32G`, `500M`, or a number of megabytes. */
  mem?: string | number
  /** Slurm time limit per task: `02:00:00`, `1-12:00:00`, `90` (minutes). */
  time?: string | number
  /** At most this many points run at once (`--array=…%max_parallel`). */
  max_parallel?: number
  account?: string
  qos?: string
  constraint?: string
  /** Shell lines run in each job before mixture (modules, containers, a node-local data copy). */
  setup?: string[]
  /** Any other sbatch option by its long name, e.g. {exclusive: true, mail-type: END}; false leaves it out. */
  extra?: Record<string, string | number | boolean>
}

/** Slurm's time formats: minutes, minutes:seconds, hours:minutes:seconds, days-hours[:minutes[:seconds]]. */
export const SLURM_TIME = /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2}|UNLIMITED|INFINITE|unlimited|infinite)$/

const word = {type: 'string', minLength: 1, maxLength: 200, pattern: '^[^\\s\'"`$;|&<>\\\\]+$', patternMessage: 'cannot be passed to sbatch as it is (no spaces, quotes, $, ;, |, &, <, > or backslashes)'}

export const launcherSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: {enum: [...LAUNCHERS], description: 'local: this machine; slurm: one job array on a Slurm cluster'},
    jobs: {type: 'integer', minimum: 1, maximum: 1024, description: 'local: points trained at once'},
    partition: {...word, description: 'slurm: partition (sbatch --partition)'},
    gpus_per_task: {type: 'integer', minimum: 0, maximum: 64, description: 'slurm: GPUs per point (sbatch --gpus-per-task)'},
    cpus_per_task: {type: 'integer', minimum: 1, maximum: 4096, description: 'slurm: CPUs per point; the native and wasm engines use that many threads'},
    mem: {type: ['string', 'integer'], minimum: 1, pattern: '^\\d+[KMGTkmgt]?$', patternMessage: 'is not a Slurm memory size: write a number with K, M, G or T (32G), or megabytes (32000)', description: 'slurm: memory per point, e.g. 32G (a number: megabytes)'},
    time: {
      type: ['string', 'integer'],
      minimum: 1,
      pattern: SLURM_TIME.source,
      patternMessage: 'is not a Slurm time: write minutes (90), hours:minutes:seconds ("02:00:00") or days-hours:minutes:seconds ("1-12:00:00")',
      description: 'slurm: time limit per point: minutes, hours:minutes:seconds or days-hours:minutes:seconds; near it the point checkpoints and is requeued',
    },
    max_parallel: {type: 'integer', minimum: 1, maximum: 100000, description: 'slurm: most points running at once'},
    account: {...word, description: 'slurm: account to charge'},
    qos: {...word, description: 'slurm: quality of service'},
    constraint: {type: 'string', minLength: 1, maxLength: 500, pattern: '^[^\'"`$;<>\\\\]+$', patternMessage: 'is not a node feature expression: feature names joined by & | , (no quotes, $ or ;)', description: 'slurm: node features, e.g. a100|h100'},
    setup: {type: 'array', items: {type: 'string', maxLength: 2000}, maxItems: 100, description: 'slurm: shell lines run in each job before mixture'},
    extra: {
      type: 'object',
      propertyNames: {pattern: '^[a-z][a-z0-9_-]*$'},
      additionalProperties: {type: ['string', 'number', 'boolean'], pattern: '^[^\'"`$;|&<>\\\\\\n]*$', patternMessage: 'is not a plain sbatch option value (no quotes, $, ;, |, &, <, >, backslashes or line breaks)'},
      description: 'slurm: other sbatch options by long name ({exclusive: true, mail-type: END}); false leaves one out',
    },
  },
}

/** Keys that only one launcher type takes. */
const ONLY: Record<string, LauncherType> = {
  jobs: 'local',
  ...Object.fromEntries(['partition', 'gpus_per_task', 'cpus_per_task', 'mem', 'time', 'max_parallel', 'account', 'qos', 'constraint', 'setup', 'extra'].map((k) => [k, 'slurm' as const])),
}

/** sbatch options the launcher writes itself; `extra` may not set them (signal it may: see docs/slurm.md). */
export const SBATCH_OWN = ['array', 'output', 'error', 'open-mode', 'requeue', 'no-requeue', 'job-name', 'parsable', 'dependency', 'wrap', 'chdir']
/** The one form of `extra.signal` the job script works with: USR1 to the batch shell, `@seconds` before the time limit. */
export const SIGNAL_OPTION = /^B:(SIG)?USR1@(\d+)$/

const NAMED = Object.keys(launcherSchema.properties).filter((k) => k !== 'type' && k !== 'jobs' && k !== 'extra' && k !== 'setup')

/** The problems of settings that passed the schema: keys of the other launcher type, extra options the launcher owns. */
function crossProblems(launcher: JsonObject, base: string, origins: Origins): Problem[] {
  const problems: Problem[] = []
  for (const key of Object.keys(launcher)) {
    const only = ONLY[key]
    if (only && launcher.type !== only) {
      const path = joinPath(base, key)
      problems.push({origin: originOf(origins, path), path, message: `applies to the ${only} launcher, not to ${launcher.type}${only === 'slurm' ? ' (give --launcher slurm, or type: slurm)' : ''}`})
    }
  }
  if (isObject(launcher.extra)) {
    for (const key of Object.keys(launcher.extra)) {
      const option = key.replace(/_/g, '-')
      const path = joinPath(joinPath(base, 'extra'), key)
      const named = NAMED.find((n) => n.replace(/_/g, '-') === option)
      if (named) problems.push({origin: originOf(origins, path), path, message: `write it as ${joinPath(base, named)}, not under extra`})
      else if (SBATCH_OWN.includes(option)) problems.push({origin: originOf(origins, path), path, message: `--${option} is written by mixture itself (see the job script in docs/slurm.md); leave it out`})
      else if (option === 'signal' && !SIGNAL_OPTION.test(String(launcher.extra[key]))) {
        problems.push({origin: originOf(origins, path), path, message: `must be B:USR1@<seconds> (got ${JSON.stringify(launcher.extra[key])}): the job script traps USR1 to stop at a step boundary and requeue; only the seconds before the time limit may change`})
      }
    }
  }
  return problems
}

/** Check a sweep file's `launcher:` block (at `base`, e.g. `sweep.launcher`); problems are appended. */
export function checkLauncher(raw: Json | undefined, base: string, origins: Origins, problems: Problem[]): Launcher | undefined {
  if (raw === undefined || raw === null) return undefined
  const value = structuredClone(raw)
  const found = schemaProblems(launcherSchema, value, base, origins)
  if (found.length === 0 && isObject(value)) found.push(...crossProblems(value, base, origins))
  problems.push(...found)
  return found.length === 0 ? (value as unknown as Launcher) : undefined
}

export interface LauncherFlags {
  /** --launcher */
  type?: string
  /** --slurm key=value (repeatable; values parsed as YAML; extra.<option>=value for any sbatch option). */
  slurm?: string[]
  /** --jobs */
  jobs?: number
}

/**
 * The launcher a sweep runs with: the sweep file's settings (`file`, already checked), overridden
 * by the flags. With neither, `local`. `--slurm` settings alone imply `--launcher slurm`.
 */
export function resolveLauncher(file: Launcher | undefined, flags: LauncherFlags, fileOrigins: Origins = new Map()): Launcher {
  const origins: Origins = new Map()
  for (const [k, o] of fileOrigins) if (k === 'sweep.launcher' || k.startsWith('sweep.launcher.')) origins.set(`launcher${k.slice('sweep.launcher'.length)}`, o)
  const merged: JsonObject = structuredClone((file ?? {}) as unknown as JsonObject)
  const problems: Problem[] = []
  const slurm = flags.slurm ?? []
  const type = flags.type ?? (file?.type !== undefined ? file.type : slurm.length > 0 ? 'slurm' : 'local')
  const setOrigin = (path: string, origin: Origin) => {
    for (const k of [...origins.keys()]) if (k === path || k.startsWith(`${path}.`)) origins.delete(k)
    origins.set(path, origin)
  }
  if (type !== merged.type) {
    // Settings of another type in the file do not follow a --launcher that switches type.
    for (const key of Object.keys(merged)) if (ONLY[key] && ONLY[key] !== type) delete merged[key]
    merged.type = type
    setOrigin('launcher.type', {file: flags.type !== undefined ? '--launcher' : '--slurm'})
  }
  if (flags.jobs !== undefined) {
    merged.jobs = flags.jobs
    setOrigin('launcher.jobs', {file: '--jobs'})
  }
  for (const text of slurm) {
    const eq = text.indexOf('=')
    const key = eq > 0 ? text.slice(0, eq).trim() : ''
    const keys = key.split('.')
    if (!key || keys.some((k) => !/^[a-z][a-z0-9_-]*$/.test(k)) || keys.length > 2 || (keys.length === 2 && keys[0] !== 'extra')) {
      problems.push({origin: {file: '--slurm'}, path: '', message: `"${text}" is not key=value with a launcher key (partition, gpus_per_task, cpus_per_task, mem, time, max_parallel, account, qos, constraint, setup) or extra.<sbatch option>, e.g. --slurm time=02:00:00`})
      continue
    }
    const doc = parseDocument(text.slice(eq + 1) || 'null')
    if (doc.errors.length > 0) {
      problems.push({origin: {file: `--slurm ${text}`}, path: `launcher.${key}`, message: `value is not valid YAML: ${doc.errors[0].message.split('\n')[0]}`})
      continue
    }
    const value = doc.toJS() as Json
    if (keys.length === 2) {
      if (!isObject(merged.extra)) merged.extra = {}
      ;(merged.extra as JsonObject)[keys[1]] = value
    } else {
      merged[key] = value
    }
    setOrigin(`launcher.${key}`, {file: `--slurm ${text}`})
  }
  if (problems.length === 0) {
    problems.push(...schemaProblems(launcherSchema, merged, 'launcher', origins))
    if (problems.length === 0) problems.push(...crossProblems(merged, 'launcher', origins))
  }
  if (problems.length > 0) throw new SpecError(problems)
  return merged as unknown as Launcher
}

/** A Slurm time limit in seconds (undefined: unlimited or not given). */
export function timeSeconds(time: string | number | undefined): number | undefined {
  if (time === undefined) return undefined
  const text = String(time)
  if (!SLURM_TIME.test(text) || /^(un)?limited$|^infinite$/i.test(text)) return undefined
  const [daysPart, rest] = text.includes('-') ? text.split('-') : [undefined, text]
  const parts = rest.split(':').map(Number)
  const days = daysPart === undefined ? 0 : Number(daysPart)
  if (daysPart !== undefined) {
    const [h, m = 0, s = 0] = parts
    return ((days * 24 + h) * 60 + m) * 60 + s
  }
  if (parts.length === 1) return parts[0] * 60
  if (parts.length === 2) return parts[0] * 60 + parts[1]
  return (parts[0] * 60 + parts[1]) * 60 + parts[2]
}
