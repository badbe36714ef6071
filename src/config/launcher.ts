/**
 * Where a sweep's points run: `local` (this machine; `jobs` points at once) or `slurm` (one job
 * array on a cluster). The settings come from the sweep file's `launcher:` block and from the
 * command line (`--launcher`, `--slurm key=value`, `--jobs`), the command line winning key by key,
 * and are checked against their schema (schema/launcher.ts) like a spec: an unknown key or a bad
 * value is a problem naming file:line (or the flag) and the dotted path.
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
import {launcherSchema, SLURM_TIME, type Launcher, type LauncherType} from '../schema/launcher.js'
import {clip, SpecError, type Origin, type Problem} from './errors.js'
import {isObject, originOf, printablePath, type Json, type JsonObject, type Origins} from './load.js'
import {joinPath} from './key-path.js'
import {nestingFault, parserTooDeep, TOO_DEEP} from './nesting.js'
import {schemaProblems} from './validate.js'

/** Keys that only one launcher type takes. */
const ONLY: Record<string, LauncherType> = {
  jobs: 'local',
  ...Object.fromEntries(['partition', 'gpus_per_task', 'cpus_per_task', 'mem', 'time', 'table_mem', 'table_time', 'max_parallel', 'account', 'qos', 'constraint', 'setup', 'extra'].map((k) => [k, 'slurm' as const])),
}

/** sbatch options the launcher writes itself; `extra` may not set them (signal it may: see docs/slurm.md). */
export const SBATCH_OWN = ['array', 'output', 'error', 'open-mode', 'requeue', 'no-requeue', 'job-name', 'parsable', 'dependency', 'wrap', 'chdir']
/** The one form of `extra.signal` the job script works with: USR1 to the batch shell, `@seconds` before the time limit. */
export const SIGNAL_OPTION = /^B:(SIG)?USR1@(\d+)$/

const NAMED = Object.keys(launcherSchema.properties).filter((k) => k !== 'type' && k !== 'jobs' && k !== 'extra' && k !== 'setup')

/** sbatch options that would break the submission itself. */
const SBATCH_REFUSED: Record<string, string> = {wait: 'makes sbatch wait until the jobs end (the sweep records its jobs when sbatch returns)', 'test-only': 'makes sbatch submit nothing'}

/** Every option name the checks below guard: sbatch reads any unambiguous start of one (--arr) as the whole (--array). */
const GUARDED = [...SBATCH_OWN, ...NAMED.map((n) => n.replace(/_/g, '-')), 'signal', ...Object.keys(SBATCH_REFUSED)]

/** sbatch options of their own whose name starts a guarded one (--gpus, --gpus-per-task): an exact name is taken as itself. */
const SBATCH_WHOLE = ['gpus']

/**
 * The problems of settings that passed the schema: keys of the other launcher type, a time of 0 (no
 * limit), and `extra` options that are named keys, that mixture writes itself, that break the
 * submission (--wait, --test-only), that start such a name (sbatch reads --arr as --array), or a
 * signal other than USR1 at least 10 s before the limit.
 */
function crossProblems(launcher: JsonObject, base: string, origins: Origins): Problem[] {
  const problems: Problem[] = []
  for (const key of Object.keys(launcher)) {
    const only = ONLY[key]
    if (only && launcher.type !== only) {
      const path = joinPath(base, key)
      problems.push({origin: originOf(origins, path), path, message: `applies to the ${only} launcher, not to ${launcher.type}${only === 'slurm' ? ' (give --launcher slurm, or type: slurm)' : ''}`})
    }
  }
  for (const key of ['time', 'table_time'] as const) {
    if (launcher[key] !== undefined && timeSeconds(launcher[key] as string | number) === 0) {
      const path = joinPath(base, key)
      problems.push({origin: originOf(origins, path), path, message: 'is 0, which Slurm reads as no limit at all; leave it out for the partition\'s limit, or give the limit'})
    }
  }
  if (isObject(launcher.extra)) {
    for (const key of Object.keys(launcher.extra)) {
      const option = key.replace(/_/g, '-')
      const path = joinPath(joinPath(base, 'extra'), key)
      const named = NAMED.find((n) => n.replace(/_/g, '-') === option)
      const whole = SBATCH_WHOLE.includes(option) ? undefined : GUARDED.find((g) => g !== option && g.startsWith(option))
      if (whole) problems.push({origin: originOf(origins, path), path, message: `sbatch would read --${option} as --${whole} (it takes any unambiguous start of an option's name); write options out in full`})
      else if (SBATCH_REFUSED[option]) problems.push({origin: originOf(origins, path), path, message: `--${option} ${SBATCH_REFUSED[option]}; leave it out`})
      else if (named) problems.push({origin: originOf(origins, path), path, message: `write it as ${joinPath(base, named)}, not under extra`})
      else if (SBATCH_OWN.includes(option)) problems.push({origin: originOf(origins, path), path, message: `--${option} is written by mixture itself (see the job script in docs/slurm.md); leave it out`})
      else if (option === 'signal' && !(Number(SIGNAL_OPTION.exec(String(launcher.extra[key]))?.[2]) >= 10)) {
        problems.push({origin: originOf(origins, path), path, message: `must be B:USR1@<seconds>, at least 10 seconds (got ${JSON.stringify(launcher.extra[key])}): the job script traps USR1 to stop at a step boundary and requeue; only the seconds before the time limit may change`})
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
      problems.push({origin: {file: '--slurm'}, path: '', message: `"${clip(text)}" is not key=value with a launcher key (partition, gpus_per_task, cpus_per_task, mem, time, table_mem, table_time, max_parallel, account, qos, constraint, setup) or extra.<sbatch option>, e.g. --slurm time=02:00:00`})
      continue
    }
    const doc = parseDocument(text.slice(eq + 1) || 'null')
    if (doc.errors.length > 0) {
      const why = doc.errors.some(parserTooDeep) ? TOO_DEEP : `is not valid YAML: ${doc.errors[0].message.split('\n')[0]}`
      problems.push({origin: {file: `--slurm ${text}`}, path: `launcher.${key}`, message: `value ${why}`})
      continue
    }
    // As a spec's values: none that contains itself, none nested deeper than a spec may be.
    const fault = nestingFault(doc, `launcher.${key}`, keys.length + 1)
    if (fault) {
      problems.push({origin: {file: `--slurm ${text}`}, path: printablePath(fault.path), message: fault.message})
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
