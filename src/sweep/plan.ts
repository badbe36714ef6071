/**
 * A sweep before anything trains: its points expanded and every one validated (a bad point stops
 * the sweep before any other trains or is submitted), each with its record for index.json and its
 * folder `<NN>-<key>`; and the options and result every launcher shares.
 */
import {existsSync, readdirSync} from 'node:fs'
import {join, relative, resolve} from 'node:path'
import type {LauncherFlags} from '../config/launcher.js'
import type {LauncherType} from '../schema/launcher.js'
import type {Resolved} from '../config/resolve.js'
import type {ResolvedSpec} from '../schema/spec.js'
import {atSweepLines, resolvePoint, type SweepPlan} from '../config/sweep.js'
import {checkModel} from '../run/fine-tune.js'
import {SpecError} from '../config/errors.js'
import {configHash, type RunOptions} from '../run/experiment.js'
import {displayPath} from '../fs/display-path.js'
import {UsageError} from '../errors.js'
import {ModelBuildError} from '../model/build.js'
import {RegistryError} from '../registry/registry.js'
import {readIndex, type SlurmSubmission, type SweepIndex, type SweepPointRecord} from './records.js'
import {sameConfiguration} from './point.js'
import {SET_ASIDE} from '../run/folders.js'
import {isFolder} from '../fs/is-folder.js'
import {readRunSummary} from '../run/summary.js'
import {locateData} from '../data/load.js'
import {DataError} from '../data/errors.js'
import {nameList} from '../name-list.js'

export interface SweepResult {
  name: string
  dir: string
  launcher: LauncherType
  /** With a dry run, each says what running the sweep would do with it (`would train`, `would skip: completed`, …). */
  points: (SweepPointRecord & {would?: string})[]
  completed: number
  failed: number
  skipped: number
  table?: string
  /** Slurm: what was submitted (nothing when every point is completed), with the job script's absolute path. */
  submitted?: SlurmSubmission & {script_path: string}
}

export interface SweepOptions extends Omit<RunOptions, 'spec' | 'resume' | 'runDir' | 'overrides' | 'fromBest' | 'force'> {
  file: string
  sets: string[]
  name?: string
  /** Expand and validate only. */
  dryRun?: boolean
  /** Take over the sweep folder's lock although another host holds it; start although the sweep's Slurm jobs are queued. */
  force?: boolean
  /** --launcher, --slurm, --jobs (over the sweep file's launcher: block). */
  launcher?: LauncherFlags
  /** Local jobs: the WebGPU adapter (engine.device) of each job slot, in turn. */
  devices?: string[]
}

/** The points of a sweep, validated, with their records and the folder they go to. */
export interface PlannedSweep {
  plan: SweepPlan
  name: string
  dir: string
  records: SweepPointRecord[]
  /** Each point's resolved spec, by index (a point trained in this process is not resolved again). */
  resolved: Resolved[]
}

/** Expand and validate every point before anything trains or is submitted. */
export async function planPoints(plan: SweepPlan, opts: SweepOptions): Promise<PlannedSweep> {
  if (!plan.name || plan.points.length === 0) throw new Error('the sweep has no points')
  const single = plan.points.every((p) => p.spec === plan.source)
  const name = opts.name ?? (single ? `${plan.name}-sweep` : plan.name)
  // Grid points get their values in the label, so that the table tells them apart.
  const resolved: Resolved[] = []
  // Every point is validated before one is refused: all their problems at once, each at its line.
  const invalid: {error: SpecError; key: string}[] = []
  for (const p of plan.points) {
    try {
      let r = await resolvePoint(p)
      const axes = Object.entries(p.grid)
      if (axes.length > 0) {
        // An empty value removes the key, as null does (load.ts): the label says null.
        const label = `${p.label ?? r.spec.label ?? r.spec.name} [${axes.map(([k, v]) => `${k.split('.').pop()}=${String(v).trim() === '' ? 'null' : v}`).join(', ')}]`
        p.overrides = [...p.overrides, `label=${JSON.stringify(label)}`]
        r = await resolvePoint(p)
      }
      resolved.push(r)
    } catch (error) {
      if (!(error instanceof SpecError)) throw error
      invalid.push({error, key: p.key})
    }
  }
  if (invalid.length > 0) throw invalidPoints(invalid, plan.points.length)
  checkModels(plan, resolved)
  const root = resolve(opts.outDir ?? resolved[0].spec.output.dir)
  const dir = join(root, name)
  const records: SweepPointRecord[] = plan.points.map((p, i) => ({
    index: p.index,
    key: p.key,
    label: p.label ?? resolved[i].spec.label ?? null,
    spec: relative(dir, p.spec),
    overrides: p.overrides,
    grid: p.grid,
    config_hash: configHash(resolved[i].spec),
    status: 'pending',
    run_dir: '',
  }))
  const planned = {plan, name, dir, records, resolved}
  placePoints(planned)
  return planned
}

/**
 * The points whose data cannot be found here (data/load.ts locateData), grouped by what is missing:
 * `01-a, 02-b: <what to put where>`. Completed points are not asked: nothing of them trains again.
 */
export function missingData(planned: PlannedSweep, dataDir: string | undefined): string[] {
  /** Each data block once (a grid's points mostly share one): what is missing, or null where all is there. */
  const problems = new Map<string, string | null>()
  const problemOf = (data: ResolvedSpec['data']): string | null => {
    try {
      locateData(data, dataDir)
      return null
    } catch (error) {
      if (!(error instanceof DataError)) throw error
      return error.message
    }
  }
  const points = new Map<string, string[]>()
  for (const record of planned.records) {
    if (readRunSummary(join(planned.dir, record.run_dir))?.status === 'completed') continue
    const data = planned.resolved[record.index].spec.data
    const key = JSON.stringify(data)
    if (!problems.has(key)) problems.set(key, problemOf(data))
    const problem = problems.get(key)
    if (problem) points.set(problem, [...(points.get(problem) ?? []), record.run_dir])
  }
  return [...points].map(([message, dirs]) => `${dirs.join(', ')}: ${message}`)
}

/**
 * Give each point its folder in the sweep folder as it is now (pointFolders); returns the folder's
 * index.json as read for that. Planning does it first; a sweep or submission does it again once it
 * holds the folder's lock, since another process (a submission a moment before) may have added
 * points in between.
 *
 * A sweep folder is continued by the same sweep, or one that adds values or points: a grid that
 * leaves out points the folder already holds (in index.json, or as folders where it was moved
 * aside) would drop them from index.json while their runs stay in the folder and in its table.
 * Refused, saying which, before anything is written.
 */
export function placePoints(planned: PlannedSweep): SweepIndex | undefined {
  const {dir, name, records, resolved} = planned
  const previous = readIndex(dir)
  const {folders, unplanned} = pointFolders(dir, records.map((r, i) => ({key: r.key, hash: r.config_hash, spec: resolved[i].spec})), previous)
  records.forEach((record, i) => (record.run_dir = folders[i]))
  if (unplanned.length === 0) return previous
  const listed = nameList(unplanned)
  throw new UsageError(
    `${dir} holds ${unplanned.length} point(s) of an earlier sweep "${name}" that this one does not have (${listed}); ` +
      `${axesDropped(previous, records)}continue it with a grid that keeps them (values may be added to any axis: the points there keep their folders), or give this sweep its own folder with --name`,
  )
}

/**
 * Where the earlier sweep had an axis this one lacks, say so: a --set of one value is a setting,
 * not an axis, so `--set lr=1e-3` does not pick the lr=1e-3 points of a sweep over lr.
 */
function axesDropped(previous: SweepIndex | undefined, records: SweepPointRecord[]): string {
  const axes = (points: Pick<SweepPointRecord, 'grid'>[]) => new Set(points.flatMap((p) => Object.keys(p.grid ?? {})))
  const now = axes(records)
  const dropped = [...axes(previous?.points ?? [])].filter((key) => !now.has(key))
  if (dropped.length === 0) return ''
  const values = (key: string) => [...new Set(previous!.points.flatMap((p) => (p.grid && key in p.grid ? [String(p.grid[key])] : [])))].join(',')
  return (
    `the earlier sweep varied ${dropped.map((key) => `${key} (${values(key)})`).join(' and ')}, which this one does not (a --set of one value is a setting, not an axis, and names other points); ` +
    `to continue it, give ${dropped.length > 1 ? 'those axes' : 'that axis'} again (${dropped.map((key) => `--set ${key}=${values(key)}`).join(' ')}: completed points are skipped), or `
  )
}

/** `03-<key>`: a point's folder, numbered; not a folder set aside (`<folder>.old-<stamp>`). */
const POINT_FOLDER = /^(\d+)-(.+)$/

/**
 * Keys as compared: one of 80 characters, the most a key has, by its first 71 — a key cut there
 * keeps a hash of the whole after them (config/sweep.ts), one of a sweep folder from before that
 * was cut plain, and the two must find each other (the configuration then tells such points apart).
 */
const matchKey = (key: string): string => (key.length === 80 ? key.slice(0, 71) : key)

interface KnownFolder {
  key: string
  folder: string
  /** Its record's config hash, where index.json has one. */
  hash?: string
}

/**
 * Each point's folder, `<NN>-<key>`, and the point folders there that no point of this sweep takes.
 * A point the sweep folder already holds keeps its folder, found by its key (`<spec>,<axis>=<value>…`)
 * in index.json and in the folders' names (all a sweep folder has where index.json was moved aside),
 * so a sweep continued with values added to any of its axes trains the new points only. Among
 * folders of one key (one spec listed twice with other `set:`), a point takes the one of its own
 * configuration (by its config hash in index.json, else by the run's config.yaml) before any other.
 * A new point is numbered after every point folder there (in a new sweep folder: 01, 02, … in order).
 */
function pointFolders(dir: string, planned: {key: string; hash: string; spec: Resolved['spec']}[], previous: SweepIndex | undefined): {folders: string[]; unplanned: string[]} {
  const indexed: KnownFolder[] = [...(previous?.points ?? [])].sort((a, b) => a.index - b.index).map((p) => ({key: p.key, folder: p.run_dir, hash: p.config_hash}))
  const inIndex = new Set(indexed.map((k) => k.folder))
  const listed = listPointFolders(dir)
  const known = [...indexed, ...listed.filter((k) => !inIndex.has(k.folder))]
  const free = new Map<string, KnownFolder[]>()
  for (const k of known) free.set(matchKey(k.key), [...(free.get(matchKey(k.key)) ?? []), k])
  const freeOf = (i: number) => free.get(matchKey(planned[i].key))
  const take = (i: number, j: number) => freeOf(i)!.splice(j, 1)[0].folder
  const kept: (string | undefined)[] = planned.map(() => undefined)
  // First the folder of the point's own configuration, then any other of its key (its spec changed since: the point sets it aside when it runs).
  planned.forEach((p, i) => {
    const j = freeOf(i)?.findIndex((k) => sameConfiguration(join(dir, k.folder), p.hash, k.hash, p.spec)) ?? -1
    if (j >= 0) kept[i] = take(i, j)
  })
  planned.forEach((_, i) => {
    if (kept[i] === undefined && (freeOf(i)?.length ?? 0) > 0) kept[i] = take(i, 0)
  })
  let last = Math.max(0, ...known.map(({folder}) => Number(POINT_FOLDER.exec(folder)?.[1] ?? 0)))
  const width = Math.max(2, String(last + kept.filter((f) => f === undefined).length).length)
  const folders = planned.map((p, i) => kept[i] ?? `${String(++last).padStart(width, '0')}-${p.key}`)
  const unplanned = [...free.values()].flat().map((k) => k.folder).filter((f) => existsSync(join(dir, f)))
  return {folders, unplanned}
}

/** The point folders in a sweep folder (set-aside ones left out), in number order. */
function listPointFolders(dir: string): KnownFolder[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  return names
    .flatMap((folder) => {
      const match = POINT_FOLDER.exec(folder)
      return match && !SET_ASIDE.test(folder) && isFolder(join(dir, folder)) ? [{number: Number(match[1]), key: match[2], folder}] : []
    })
    .sort((a, b) => a.number - b.number)
    .map(({key, folder}) => ({key, folder}))
}

/**
 * The problems of several invalid points as one error, each once at its line: a bad value of a grid
 * axis is every point's with it, and a misspelt axis key every value's (the same line, a column each).
 */
function invalidPoints(errors: {error: SpecError; key: string}[], points: number): SpecError {
  // One point of one: the spec's own error, as a run gives it.
  if (points === 1) return errors[0].error
  const seen = new Set<string>()
  const problems = errors.flatMap((e) => e.error.problems).filter((p) => {
    const key = JSON.stringify([p.origin?.file, p.origin?.line, p.path, p.message])
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
  const named = errors.length <= 5 ? errors.map((e) => e.key).join(', ') : `${errors.slice(0, 5).map((e) => e.key).join(', ')} and ${errors.length - 5} more`
  return new SpecError(problems, `in ${errors.length === 1 ? 'point' : `${errors.length} of the ${points} points:`} ${named}${errors.length === 1 ? ` (of ${points})` : ''}`)
}

/**
 * Build each distinct model of the sweep once (a grid over the learning rate or the seed has one),
 * so that a point whose parameters do not fit together stops the sweep before anything trains; the
 * error names the point.
 */
function checkModels(plan: SweepPlan, points: Resolved[]): void {
  const checked = new Set<string>()
  for (const [i, resolved] of points.entries()) {
    // The model, the data it reads its input size and class count from, and the checkpoint it starts from.
    const key = JSON.stringify([resolved.spec.model, resolved.spec.data, resolved.spec.train.init_from])
    if (checked.has(key)) continue
    checked.add(key)
    try {
      checkModel(resolved)
    } catch (error) {
      // Which point (a grid's points share a spec file: its label names the values), and the line:
      // the point spec's, or the sweep file's whose set: gave the value.
      const point = `${displayPath(resolved.loaded.file)} (${resolved.spec.label ?? resolved.spec.name})`
      if (error instanceof SpecError) throw new SpecError(atSweepLines(error, plan.points[i]).problems, point)
      if (error instanceof RegistryError) throw new ModelBuildError(`${point}: ${error.message}`)
      if (error instanceof UsageError) throw new UsageError(`${point}: ${error.message}`)
      throw error
    }
  }
}
