/**
 * Sweep expansion, done up front (Hydra multirun style): a grid from comma lists in `--set`
 * (`--set train.optimizer.lr=1e-3,3e-4`) and/or a sweep file's `grid:` block, crossed with the sweep
 * file's list of `points:` (one spec per paper row). Every point gets a stable key and the exact
 * overrides that make it.
 *
 * Sweep file:
 *   sweep:
 *     name: cifar10-table            # folder under results/
 *     title: CIFAR-10 Results Table  # table/plot title
 *     points:                        # specs, relative to this file (or {spec, label, set: {k: v}})
 *       - alternating-1block.yaml
 *     grid: {seed: [1, 2]}           # optional: every point × every combination
 *     set: {train.epochs: 50}        # optional: overrides for every point
 *     launcher: {type: slurm, ...}   # optional: where the points run (launcher.ts)
 */
import {createHash} from 'node:crypto'
import {existsSync, statSync} from 'node:fs'
import {basename, dirname, resolve} from 'node:path'
import {stringify as yamlStringify} from 'yaml'
import {clip, SpecError, type Origin, type Problem} from './errors.js'
import {resolveSpec, type Resolved} from './resolve.js'
import {checkLauncher} from './launcher.js'
import type {Launcher} from '../schema/launcher.js'
import {isObject, originOf, parseOverride, printableKey, printablePath, readYamlFile, type Json, type JsonObject, type Origins} from './load.js'
import {joinPath} from './key-path.js'
import {suggest} from './suggest.js'
import {displayPath} from '../fs/display-path.js'
import {nameProblem} from '../schema/spec.js'

export interface SweepPoint {
  /** Position in the sweep (0-based), used to order the folders and the table. */
  index: number
  /** Folder-safe identifier: `<spec name>[,key=value…]`. */
  key: string
  /** Spec file of this point. */
  spec: string
  /** Overrides, in order, as `key=value` strings (YAML values). */
  overrides: string[]
  /** The grid values of this point (for display and the index). */
  grid: Record<string, Json>
  label?: string
  /** Where the sweep file wrote an override (by its `key=value` text), for problems with it; the command line's are absent. */
  written?: Record<string, Origin>
}

export interface SweepPlan {
  name: string
  title?: string
  /** The sweep file, or the single spec a --set grid expands. */
  source: string
  points: SweepPoint[]
  /** The sweep file's `launcher:` settings, checked. */
  launcher?: Launcher
  /** Where each value of the sweep file was written (for the launcher's problems with the command line's). */
  origins?: Origins
}

/** Split a --set value on top-level commas (commas inside [], {} or quotes do not split). */
export function splitList(value: string): string[] {
  const out: string[] = []
  let depth = 0
  let quote = ''
  let start = 0
  for (let i = 0; i < value.length; i++) {
    const c = value[i]
    if (quote) {
      if (c === quote) quote = ''
    } else if (c === '"' || c === "'") quote = c
    else if (c === '[' || c === '{') depth++
    else if (c === ']' || c === '}') depth--
    else if (c === ',' && depth === 0) {
      out.push(value.slice(start, i))
      start = i + 1
    }
  }
  out.push(value.slice(start))
  return out.map((s) => s.trim())
}

function cartesian(grid: [string, string[]][]): [string, string][][] {
  return grid.reduce<[string, string][][]>((acc, [key, values]) => acc.flatMap((combo) => values.map((v) => [...combo, [key, v] as [string, string]])), [[]])
}

function yamlValue(v: Json): string {
  return typeof v === 'string' ? JSON.stringify(v) : yamlStringify(v, {flow: true} as never).trim()
}

/**
 * A point's key as a folder name: characters a file name should not hold replaced, at most 80 long.
 * A longer one keeps its first 71 characters and a hash of the whole text, so that two points whose
 * keys differ only past the cut (long spec names, many axes) still have keys of their own.
 */
function slug(text: string): string {
  const safe = text.replace(/[^A-Za-z0-9._=,-]+/g, '_')
  return safe.length <= 80 ? safe : `${safe.slice(0, 71)}-${createHash('sha256').update(text).digest('hex').slice(0, 8)}`
}

/** More points than any sweep of this tool needs: a grid that large is a mistake, and expanding it would exhaust memory. */
export const MAX_SWEEP_POINTS = 10_000

/** `model.components[1].dim` and `model.components.1.dim` alike, for comparing keys. */
const canonicalKey = (key: string): string => key.trim().replace(/\[(\d+)\]/g, '.$1')

/**
 * What makes a grid wrong before it is expanded: a key that is an axis twice (the sweep file's grid
 * and --set) or an axis and a fixed --set (one would silently win), a value listed twice on one
 * axis (the same run twice), and more points than MAX_SWEEP_POINTS.
 */
function axisProblems(grid: [string, string[]][], fixed: string[], specs: number, origins: Origins): Problem[] {
  const problems: Problem[] = []
  const where = (key: string): Problem['origin'] => (origins.has(`sweep.grid.${key}`) ? originOf(origins, `sweep.grid.${key}`) : {file: '--set'})
  const seen = new Map<string, string>()
  for (const [key, values] of grid) {
    const canonical = canonicalKey(key)
    if (seen.has(canonical)) problems.push({origin: where(key), path: key, message: `is a sweep axis twice (the sweep file's grid: and --set); give its values in one place`})
    seen.set(canonical, key)
    const repeated = repeatedValues(key, values)
    if (repeated.length > 0) problems.push({origin: where(key), path: key, message: `lists ${clip(repeated.join(', '))} more than once: each value would run twice`})
  }
  for (const set of fixed) {
    const key = set.slice(0, set.indexOf('='))
    if (seen.has(canonicalKey(key))) problems.push({origin: {file: `--set ${set}`}, path: key, message: 'is also a sweep axis; a single --set value would override every point\'s value of it. Drop one of the two'})
  }
  const count = grid.reduce((n, [, values]) => n * values.length, Math.max(specs, 1))
  if (count > MAX_SWEEP_POINTS) {
    const axes = grid.map(([key, values]) => `${key} (${values.length})`).join(' × ')
    problems.push({origin: {file: '--set'}, path: '', message: `the grid has ${count.toLocaleString('en-US')} points (${specs > 1 ? `${specs} specs × ` : ''}${axes}), more than ${MAX_SWEEP_POINTS.toLocaleString('en-US')}; sweep fewer values, or split it into several sweeps`})
  }
  return problems
}

/**
 * The values an axis lists more than once, compared as the YAML values they are (`1` and `01`,
 * `1e-3` and `0.001` are one value): each as first written, with the spellings that repeat it.
 */
function repeatedValues(key: string, values: string[]): string[] {
  const identity = (value: string): string => {
    try {
      return JSON.stringify(parseOverride(`${key}=${value}`).value)
    } catch {
      return `unparsed ${value}` // its own problem, said where the point is resolved
    }
  }
  const first = new Map<string, string>()
  const again = new Map<string, Set<string>>()
  for (const value of values) {
    const id = identity(value)
    if (!first.has(id)) first.set(id, value)
    else again.set(id, (again.get(id) ?? new Set()).add(value))
  }
  return [...again].map(([id, spellings]) => {
    const written = first.get(id)!
    const others = [...spellings].filter((s) => s !== written)
    return others.length > 0 ? `${written} (as ${others.join(' and ')})` : written
  })
}

/** The keys of a sweep file's `sweep:` block. */
const SWEEP_KEYS = ['name', 'title', 'points', 'grid', 'set', 'launcher']
/** The keys of one of its points, where it is a mapping rather than a spec path. */
const POINT_KEYS = ['spec', 'label', 'set']

/** A problem for each key of `block` (at `path`) that is not one of `allowed`, with the nearest allowed key where one is near. */
function unknownKeys(block: JsonObject, allowed: string[], path: string, origins: Origins): Problem[] {
  return Object.keys(block)
    .filter((k) => !allowed.includes(k))
    .map((k) => {
      const at = joinPath(path, k)
      const guess = printableKey(k) ? suggest(k, allowed) : undefined
      return {origin: originOf(origins, at), path: printablePath(at), message: `unknown key${guess ? `, did you mean ${guess}?` : ''}; allowed here: ${allowed.join(', ')}`}
    })
}

/** Expand a spec or sweep file plus --set values (comma lists become grid axes) into points. */
export function expandSweep(file: string, sets: string[], name?: string): SweepPlan {
  const abs = resolve(file)
  const {data, origins} = readYamlFile(abs)
  const problems: Problem[] = []
  const fixed: string[] = []
  const grid: [string, string[]][] = []
  for (const s of sets) {
    const eq = s.indexOf('=')
    if (eq <= 0) throw new SpecError([{origin: {file: '--set'}, path: '', message: `"${clip(s)}" is not key=value (use key=a,b,c for a sweep axis)`}])
    const values = splitList(s.slice(eq + 1))
    if (values.length > 1) grid.push([s.slice(0, eq), values])
    else fixed.push(s)
  }
  let specs: {spec: string; label?: string; set: string[]}[]
  // Overrides the sweep file wrote (set:, a point's set:, grid:), by their text, with where.
  const written = new Map<string, Origin>()
  const wrote = (text: string, path: string): string => {
    const at = originOf(origins, path)
    if (at && !written.has(text)) written.set(text, at)
    return text
  }
  let sweepName = name
  let title: string | undefined
  let launcher: Launcher | undefined
  if (isObject(data) && isObject(data.sweep)) {
    const sw = data.sweep
    problems.push(...unknownKeys(sw, SWEEP_KEYS, 'sweep', origins))
    if (typeof sw.name === 'string') sweepName ??= sw.name
    else if (sw.name !== undefined) problems.push({origin: originOf(origins, 'sweep.name'), path: 'sweep.name', message: 'must be a string (the sweep folder\'s name)'})
    if (typeof sw.title === 'string') title = sw.title
    else if (sw.title !== undefined) problems.push({origin: originOf(origins, 'sweep.title'), path: 'sweep.title', message: 'must be a string (the title of the sweep\'s table and plots); quote it if YAML reads it as something else'})
    launcher = checkLauncher(sw.launcher, 'sweep.launcher', origins, problems)
    const toSets = (obj: Json | undefined, path: string): string[] => {
      if (obj === undefined || obj === null) return []
      if (!isObject(obj)) {
        problems.push({origin: originOf(origins, path), path, message: 'must be a mapping of key.path: value'})
        return []
      }
      return Object.entries(obj).map(([k, v]) => wrote(`${k}=${yamlValue(v)}`, `${path}.${k}`))
    }
    const common = toSets(sw.set, 'sweep.set')
    if (isObject(sw.grid)) {
      for (const [k, v] of Object.entries(sw.grid)) {
        if (!Array.isArray(v) || v.length === 0) problems.push({origin: originOf(origins, `sweep.grid.${k}`), path: `sweep.grid.${k}`, message: 'must be a non-empty list of values'})
        else grid.unshift([k, v.map((value, j) => wrote(`${k}=${yamlValue(value)}`, `sweep.grid.${k}[${j}]`).slice(k.length + 1))])
      }
    } else if (sw.grid !== undefined) problems.push({origin: originOf(origins, 'sweep.grid'), path: 'sweep.grid', message: 'must be a mapping of key.path: [values]'})
    const points = Array.isArray(sw.points) ? sw.points : []
    if (sw.points !== undefined && !Array.isArray(sw.points)) problems.push({origin: originOf(origins, 'sweep.points'), path: 'sweep.points', message: `must be a list of specs (- ${typeof sw.points === 'string' ? sw.points : 'file.yaml'} on a line of its own), not a ${typeof sw.points}`})
    else if (points.length === 0) problems.push({origin: originOf(origins, 'sweep.points'), path: 'sweep.points', message: 'a sweep file lists at least one spec under points:'})
    specs = points.map((p, i) => {
      const path = `sweep.points[${i}]`
      const entry = typeof p === 'string' ? {spec: p} : isObject(p) ? p : {}
      problems.push(...unknownKeys(entry, POINT_KEYS, path, origins))
      if (entry.label !== undefined && typeof entry.label !== 'string') problems.push({origin: originOf(origins, `${path}.label`), path: `${path}.label`, message: 'must be a string (the point\'s row in the table); quote it if YAML reads it as something else'})
      if (typeof entry.spec !== 'string') {
        problems.push({origin: originOf(origins, path), path, message: 'must be a spec path or {spec: path, label?, set?}'})
        return {spec: '', set: []}
      }
      const specPath = resolve(dirname(abs), entry.spec)
      if (entry.spec.trim() === '') problems.push({origin: originOf(origins, path), path, message: 'is an empty name; give a spec file (relative to the sweep file), or remove the entry'})
      else if (!existsSync(specPath)) problems.push({origin: originOf(origins, path), path, message: `spec ${entry.spec} not found (relative to the sweep file)`})
      else if (!statSync(specPath).isFile()) problems.push({origin: originOf(origins, path), path, message: `${entry.spec} is not a file; a point is a spec file (relative to the sweep file)`})
      else if (specPath === abs) problems.push({origin: originOf(origins, path), path, message: 'is this sweep file itself; a point is a spec file'})
      return {spec: specPath, label: typeof entry.label === 'string' ? entry.label : undefined, set: [...common, ...toSets(entry.set, `${path}.set`)]}
    })
  } else {
    specs = [{spec: abs, set: []}]
  }
  const named = name !== undefined ? {name, origin: {file: '--name'}, path: ''} : isObject(data) && isObject(data.sweep) && typeof data.sweep.name === 'string' ? {name: data.sweep.name, origin: originOf(origins, 'sweep.name'), path: 'sweep.name'} : undefined
  const folder = named?.name ?? basename(abs).replace(/\.ya?ml$/, '')
  const bad = nameProblem(folder)
  if (bad) problems.push(named ? {origin: named.origin, path: named.path, message: `${bad} (it names the sweep folder)`} : {origin: {file: displayPath(abs)}, path: '', message: `the sweep is named after its file: ${bad}; give the sweep a name with --name`})
  problems.push(...axisProblems(grid, fixed, specs.length, origins))
  if (problems.length > 0) throw new SpecError(problems, file)
  const combos = cartesian(grid)
  const points: SweepPoint[] = []
  for (const s of specs) {
    for (const combo of combos) {
      const gridValues = Object.fromEntries(combo.map(([k, v]) => [k, v as Json]))
      const specName = basename(s.spec).replace(/\.ya?ml$/, '')
      // `k=` and `k=null` remove the same key (load.ts): one point, one key.
      const key = slug([specName, ...combo.map(([k, v]) => `${k}=${v.trim() === '' ? 'null' : v}`)].join(','))
      const overrides = [...s.set, ...fixed, ...combo.map(([k, v]) => `${k}=${v}`)]
      const at = overrides.filter((o) => written.has(o) && !sets.includes(o)).map((o) => [o, written.get(o)!] as const)
      points.push({index: points.length, key, spec: s.spec, overrides, grid: gridValues, label: s.label, ...(at.length > 0 ? {written: Object.fromEntries(at)} : {})})
    }
  }
  return {name: sweepName ?? basename(abs).replace(/\.ya?ml$/, ''), title, source: abs, points, launcher, origins}
}

/** A point's spec resolved with its overrides; a problem with an override the sweep file wrote names its line there rather than `--set`. */
export async function resolvePoint(point: SweepPoint): Promise<Resolved> {
  try {
    return await resolveSpec(point.spec, point.overrides)
  } catch (error) {
    throw error instanceof SpecError ? atSweepLines(error, point) : error
  }
}

/** A point's spec problem that a `set:` of the sweep file gave (an override `--set <text>` to the spec) put at that line of the sweep file. */
export function atSweepLines(error: SpecError, point: SweepPoint): SpecError {
  if (!point.written) return error
  const blamed = error.problems.map((problem) => {
    const text = problem.origin?.file.startsWith('--set ') ? problem.origin.file.slice('--set '.length) : undefined
    const at = text === undefined ? undefined : point.written![text]
    return at ? {...problem, origin: at} : problem
  })
  return new SpecError(blamed, error.file)
}
