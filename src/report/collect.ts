/**
 * Find and read run folders and sweep folders.
 *
 * A run folder holds `summary.json` (plus `metrics.csv` and `config.yaml`); a sweep folder holds
 * `index.json` listing its points in order. Inputs are searched recursively. Rows come out in this
 * order, input by input: the points of each sweep in index order, then the runs no index mentions,
 * sorted by the paper's order of model labels (see paper.ts), then by dataset and name.
 */
import {existsSync, readdirSync, readFileSync, realpathSync, statSync, type Dirent} from 'node:fs'
import {basename, dirname, join, resolve, sep} from 'node:path'
import {parse as parseYaml} from 'yaml'

import {liveStatus} from '../run/status.js'
import {SET_ASIDE} from '../run/folders.js'
import {bestEpoch, bestOf} from '../run/summary.js'
import {METRICS_COLUMNS, metricsCsvRows, type EpochMetrics} from '../run/metrics-file.js'
import {displayPath} from '../fs/display-path.js'
import {findPaperRow} from './paper.js'
import {accuracyDefinitionOf, selectionOf} from './selection.js'
import {CURVE_METRICS, CurvePoint, ReportError, RunRecord, RunStatus, SPLITS} from './types.js'

export interface SweepIndex {
  name?: string
  title?: string
  points: {key?: string; label?: string; status?: string; run_dir?: string; error?: string; grid?: Record<string, unknown>}[]
}

export interface Collected {
  runs: RunRecord[]
  /** Sweep indexes found, with their folders (in the order read). */
  sweeps: {dir: string; index: SweepIndex}[]
  warnings: string[]
}

/** What `metrics.csv` holds, read in one pass. */
interface MetricsFile {
  /** The rows by epoch, as METRICS_COLUMNS (unknown columns ignored; missing ones and blank cells NaN). */
  metrics: EpochMetrics[]
  /** Every `<split>_<metric>` column (train/val/test × loss/accuracy) as curve points, by epoch, then split and metric in the order of SPLITS and CURVE_METRICS; blank cells left out. */
  history: CurvePoint[]
  /** The first cell that is not a number (a damaged file; blank cells are not damage), for a warning: `line 3, column test_accuracy: "abc"`. The tables leave such cells out. */
  damage?: string
}

function readMetricsText(text: string): MetricsFile {
  const [header, ...rows] = metricsCsvRows(text).filter(({cells}) => cells.some((cell) => cell.trim() !== ''))
  if (!header) return {metrics: [], history: []}
  const names = header.cells.map((h) => h.trim())
  if (!names.includes('epoch')) throw new Error('metrics.csv has no "epoch" column')
  let damage: string | undefined
  const records = rows
    .map(({line, cells}) => {
      const at = cells.findIndex((cell) => cell.trim() !== '' && !Number.isFinite(Number(cell)))
      if (at >= 0) damage ??= `line ${line}, column ${names[at] ?? at + 1}: ${JSON.stringify(cells[at])}`
      return Object.fromEntries(names.map((name, i) => [name, cells[i] === undefined || cells[i].trim() === '' ? Number.NaN : Number(cells[i])])) as Record<string, number>
    })
    .filter((record) => Number.isFinite(record.epoch))
    .sort((a, b) => a.epoch - b.epoch)
  const metrics = records.map((record) => Object.fromEntries(METRICS_COLUMNS.map((n) => [n, record[n] ?? Number.NaN])) as unknown as EpochMetrics)
  const history: CurvePoint[] = []
  for (const record of records) {
    for (const split of SPLITS) {
      for (const metric of CURVE_METRICS) {
        const value = record[`${split}_${metric}`]
        if (value !== undefined && Number.isFinite(value)) history.push({epoch: record.epoch, split, metric, value})
      }
    }
  }
  return {metrics, history, ...(damage === undefined ? {} : {damage})}
}

/** Parse `metrics.csv` text. Unknown columns are ignored; missing ones read as NaN. */
export function parseMetricsCsv(text: string): EpochMetrics[] {
  return readMetricsText(text).metrics
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null
}

function readJson(file: string): Record<string, unknown> {
  const value: unknown = JSON.parse(readFileSync(file, 'utf8'))
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object')
  return value as Record<string, unknown>
}

function readConfig(dir: string, warnings: string[]): Record<string, unknown> {
  const file = join(dir, 'config.yaml')
  if (!existsSync(file)) return {}
  try {
    const value: unknown = parseYaml(readFileSync(file, 'utf8'))
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {}
  } catch (error) {
    warnings.push(`${displayPath(file)} could not be read (${(error as Error).message.split('\n')[0]}); using summary.json only.`)
    return {}
  }
}

function summaryOf(metrics: EpochMetrics[]) {
  const best = bestEpoch(metrics, 'test_accuracy')
  const bestVal = bestEpoch(metrics, 'val_accuracy')
  const seconds = (key: 'train_seconds' | 'eval_seconds') => metrics.reduce((sum, m) => sum + (Number.isFinite(m[key]) ? m[key] : 0), 0)
  const last = metrics.at(-1)
  return {
    bestTestAccuracy: best?.test_accuracy ?? null,
    bestTestEpoch: best?.epoch ?? null,
    bestTrainAccuracy: bestOf(metrics, 'train_accuracy'),
    finalTestAccuracy: last && Number.isFinite(last.test_accuracy) ? last.test_accuracy : null,
    bestValAccuracy: bestVal?.val_accuracy ?? null,
    bestValEpoch: bestVal?.epoch ?? null,
    testAccuracyAtBestVal: bestVal && Number.isFinite(bestVal.test_accuracy) ? bestVal.test_accuracy : null,
    bestRawTestAccuracy: bestOf(metrics, 'raw_test_accuracy'),
    trainMinutes: metrics.length > 0 ? seconds('train_seconds') / 60 : null,
    evalMinutes: metrics.length > 0 ? seconds('eval_seconds') / 60 : null,
  }
}

/**
 * Read one run folder. Values come from summary.json; where it lacks one, or where metrics.csv
 * already has more epochs than the summary counts (a run still writing), they are computed from
 * metrics.csv by the same definitions (best test accuracy over epochs, training seconds / 60).
 * Returns undefined (with a warning) when summary.json exists but cannot be read.
 */
export function readRun(dir: string, warnings: string[], fallback: Partial<RunRecord> = {}): RunRecord | undefined {
  const summaryFile = join(dir, 'summary.json')
  let summary: Record<string, unknown> = {}
  let time = 0
  if (existsSync(summaryFile)) {
    try {
      summary = readJson(summaryFile)
      time = statSync(summaryFile).mtimeMs
    } catch (error) {
      warnings.push(`Skipping ${displayPath(dir)}: summary.json cannot be read (${(error as Error).message}).`)
      return undefined
    }
  }
  const config = readConfig(dir, warnings)
  const hasConfig = Object.keys(config).length > 0
  const data = (config.data ?? {}) as Record<string, unknown>

  let metrics: EpochMetrics[] = []
  let history: CurvePoint[] = []
  const metricsFile = join(dir, 'metrics.csv')
  if (existsSync(metricsFile)) {
    try {
      const read = readMetricsText(readFileSync(metricsFile, 'utf8'))
      metrics = read.metrics
      history = read.history
      const damage = read.damage
      if (damage) warnings.push(`${displayPath(metricsFile)} is damaged (${damage} is not a number); such cells are left out of the tables and curves.`)
    } catch (error) {
      warnings.push(`${displayPath(metricsFile)} cannot be read (${(error as Error).message}); no curve for this run.`)
    }
  }
  const derived = summaryOf(metrics)
  const summaryEpochs = num(summary.epochs_completed)
  const preferMetrics = summaryEpochs === null || metrics.length > summaryEpochs
  const pick = <K extends keyof typeof derived>(key: K, field: string): number | null =>
    preferMetrics && metrics.length > 0 ? derived[key] : num(summary[field]) ?? derived[key]
  const epochsCompleted = Math.max(summaryEpochs ?? 0, metrics.length)
  // Before its first epoch ends a run's summary.json says 0 minutes: a sum over no epochs, not a
  // time the run took, which a mean would count as one. Like its accuracy, such a run has none.
  const minutes = (key: 'trainMinutes' | 'evalMinutes', field: string): number | null => (epochsCompleted > 0 ? pick(key, field) : null)

  const started = str(summary.started)
  const finished = str(summary.finished)
  const stamp = Date.parse(finished ?? started ?? '')
  const name = str(summary.name) ?? str(config.name) ?? fallback.name ?? basename(dir)
  return {
    dir,
    name,
    label: str(summary.label) ?? str(config.label) ?? fallback.label ?? name,
    dataset: str(summary.dataset) ?? str(data.dataset) ?? fallback.dataset ?? '',
    imageSize: num(data.image_size) ?? undefined,
    ...(str(data.label_mode) ? {labelMode: str(data.label_mode)!} : {}),
    status: liveStatus(summary) ?? fallback.status ?? (metrics.length > 0 ? 'running' : 'pending'),
    epochs: num(summary.epochs) ?? num((config.train as Record<string, unknown> | undefined)?.epochs) ?? null,
    epochsCompleted,
    ...(str(summary.stopped_early) ? {stoppedEarly: str(summary.stopped_early)!} : {}),
    bestTestAccuracy: pick('bestTestAccuracy', 'best_test_accuracy'),
    bestTestEpoch: pick('bestTestEpoch', 'best_test_epoch'),
    bestTrainAccuracy: pick('bestTrainAccuracy', 'best_train_accuracy'),
    finalTestAccuracy: pick('finalTestAccuracy', 'final_test_accuracy'),
    bestValAccuracy: pick('bestValAccuracy', 'best_val_accuracy'),
    bestValEpoch: pick('bestValEpoch', 'best_val_epoch'),
    testAccuracyAtBestVal: pick('testAccuracyAtBestVal', 'test_accuracy_at_best_val'),
    bestRawTestAccuracy: pick('bestRawTestAccuracy', 'best_raw_test_accuracy'),
    trainMinutes: minutes('trainMinutes', 'train_minutes'),
    evalMinutes: minutes('evalMinutes', 'eval_minutes'),
    params: num(summary.params),
    backend: str(summary.backend),
    ...(str(summary.precision) && summary.precision !== 'fp32' ? {precision: str(summary.precision)!} : {}),
    ...(Array.isArray(summary.restarted_from_best) && summary.restarted_from_best.length > 0 ? {restartedFromBest: summary.restarted_from_best.filter((e): e is number => Number.isInteger(e))} : {}),
    seed: num(summary.seed) ?? num(config.seed),
    started,
    finished,
    curve: metrics.filter((m) => Number.isFinite(m.test_accuracy)).map((m) => ({epoch: m.epoch, accuracy: m.test_accuracy})),
    history,
    selection: selectionOf(summary, derived.bestValAccuracy !== null),
    accuracyDefinition: accuracyDefinitionOf(summary, config),
    ...(hasConfig ? {config} : {}),
    sweep: fallback.sweep,
    error: str(summary.error) ?? fallback.error,
    time: Number.isFinite(stamp) ? stamp : time,
  }
}

/** Folders under `root` (itself included) holding summary.json (runs) or index.json (sweeps), sorted by path. */
function walk(root: string): {runs: string[]; sweeps: string[]; unsummarised: string[]} {
  const runs: string[] = []
  const sweeps: string[] = []
  const unsummarised: string[] = []
  // Links are followed (a folder of links to runs and sweeps is a way to gather them), each real folder once: a link loop ends.
  const visited = new Set<string>()
  const visit = (dir: string): void => {
    let entries
    try {
      const real = realpathSync(dir)
      if (visited.has(real)) return
      visited.add(real)
      entries = readdirSync(dir, {withFileTypes: true}).map((e) => ({name: e.name, ...kindOf(join(dir, e.name), e)}))
    } catch {
      return
    }
    const files = new Set(entries.filter((e) => e.isFile).map((e) => e.name))
    if (files.has('index.json')) sweeps.push(dir)
    if (files.has('summary.json')) {
      runs.push(dir)
      return
    }
    // A run's folder that lost its summary.json (deleted, or never written on a full disk).
    if (files.has('config.yaml') && files.has('metrics.csv')) {
      unsummarised.push(dir)
      return
    }
    const subdirs = entries
      .filter((e) => e.isDirectory && !e.name.startsWith('.') && e.name !== 'node_modules')
      .map((e) => e.name)
      .sort()
    for (const sub of subdirs) visit(join(dir, sub))
  }
  visit(root)
  return {runs, sweeps, unsummarised}
}

/** Whether a folder entry is a file or a folder, a link taken as what it points to (a broken link is neither). */
function kindOf(path: string, entry: Dirent): {isFile: boolean; isDirectory: boolean} {
  if (!entry.isSymbolicLink()) return {isFile: entry.isFile(), isDirectory: entry.isDirectory()}
  const target = statSync(path, {throwIfNoEntry: false})
  return {isFile: Boolean(target?.isFile()), isDirectory: Boolean(target?.isDirectory())}
}

/** The seed a sweep point's grid sets (`seed: "2"` or `seed: 2`), else null. */
function seedOfGrid(grid: Record<string, unknown> | undefined): number | null {
  const value = grid?.seed
  const seed = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  return typeof seed === 'number' && Number.isInteger(seed) ? seed : null
}

function readIndex(dir: string, warnings: string[]): SweepIndex | undefined {
  try {
    const raw = readJson(join(dir, 'index.json'))
    if (!Array.isArray(raw.points)) throw new Error('it has no "points" list')
    return raw as unknown as SweepIndex
  } catch (error) {
    warnings.push(`Ignoring ${displayPath(join(dir, 'index.json'))}: ${(error as Error).message}.`)
    return undefined
  }
}

function paperSortKey(run: RunRecord): number {
  return findPaperRow(run.dataset, run.label, run.imageSize, run.labelMode)?.order ?? Number.POSITIVE_INFINITY
}

/** Runs no sweep index orders: the paper's order of model labels first, then dataset and name. */
export function sortByPaperOrder(runs: RunRecord[]): RunRecord[] {
  return runs
    .map((run) => ({run, key: paperSortKey(run)}))
    .sort(
      (a, b) =>
        (a.key === b.key ? 0 : a.key < b.key ? -1 : 1) ||
        a.run.dataset.localeCompare(b.run.dataset) ||
        a.run.name.localeCompare(b.run.name) ||
        (a.run.dir ?? '').localeCompare(b.run.dir ?? ''),
    )
    .map(({run}) => run)
}

/** The files that name their run or sweep folder when given in its place. */
const RUN_FILES = ['summary.json', 'index.json', 'metrics.csv', 'config.yaml']

/** Read every run under the given paths, in table order (see the module comment). */
export function collectRuns(paths: string[]): Collected {
  const warnings: string[] = []
  const runs: RunRecord[] = []
  const sweeps: Collected['sweeps'] = []
  const seen = new Set<string>()
  for (const input of paths) {
    const path = resolve(input)
    if (!existsSync(path)) {
      throw new ReportError(`${input} does not exist. Pass run folders (each holds a summary.json) or folders above them, e.g. \`mixture table results/cifar10-alternating-1block\`.`)
    }
    // A file stands for its folder only where it is one of a run's or sweep's own (summary.json, index.json, metrics.csv, ...).
    if (!statSync(path).isDirectory() && !RUN_FILES.includes(basename(path))) {
      throw new ReportError(`${input} is a file, not a run or sweep folder. Pass run folders (each holds a summary.json), sweep folders (index.json) or folders above them.`)
    }
    const root = statSync(path).isDirectory() ? path : dirname(path)
    const found = walk(root)
    for (const sweepDir of found.sweeps) {
      const index = readIndex(sweepDir, warnings)
      if (!index) continue
      sweeps.push({dir: sweepDir, index})
      const points: RunRecord[] = []
      index.points.forEach((point, i) => {
        const key = point.key ?? String(i)
        const sweep = {name: index.name ?? basename(sweepDir), dir: sweepDir, ...(typeof index.title === 'string' && index.title.trim() !== '' ? {title: index.title} : {}), key, grid: point.grid}
        const fallback: Partial<RunRecord> = {label: point.label, name: point.key, status: point.status, error: point.error, sweep}
        const dir = point.run_dir ? resolve(sweepDir, point.run_dir) : undefined
        if (dir && seen.has(dir)) return
        // A folder a launcher made for a point whose run has not started (its log at most) is no run yet.
        if (dir && existsSync(join(dir, 'config.yaml'))) {
          const run = readRun(dir, warnings, fallback)
          if (run) {
            seen.add(dir)
            points.push(run)
          }
          return
        }
        points.push({
          name: point.key ?? point.label ?? `point ${i + 1}`,
          label: point.label ?? point.key ?? `point ${i + 1}`,
          dataset: '',
          status: (point.status as RunStatus | undefined) ?? 'pending',
          epochs: null,
          epochsCompleted: 0,
          bestTestAccuracy: null,
          bestTestEpoch: null,
          bestTrainAccuracy: null,
          finalTestAccuracy: null,
          bestValAccuracy: null,
          bestValEpoch: null,
          testAccuracyAtBestVal: null,
          bestRawTestAccuracy: null,
          trainMinutes: null,
          evalMinutes: null,
          params: null,
          backend: null,
          seed: seedOfGrid(point.grid),
          started: null,
          finished: null,
          curve: [],
          history: [],
          selection: 'best_test',
          accuracyDefinition: 'per_example',
          sweep,
          error: point.error,
          time: 0,
        })
      })
      // A point without a folder takes the dataset its sweep's runs share.
      const datasets = new Set(points.filter((p) => p.dir).map((p) => p.dataset))
      if (datasets.size === 1) {
        const [dataset] = datasets
        for (const p of points) if (!p.dir) p.dataset = dataset
      }
      runs.push(...points)
    }
    const stray: RunRecord[] = []
    for (const dir of found.runs) {
      if (seen.has(dir)) continue
      // A folder a sweep set aside (a point trained anew: `<point>.old-<stamp>`) would count as a
      // second run of that point; it is read only when asked for by its own path.
      const sweep = dir !== path && SET_ASIDE.test(basename(dir)) ? found.sweeps.find((s) => dir.startsWith(`${s}${sep}`)) : undefined
      if (sweep) {
        warnings.push(`Leaving out ${displayPath(dir)}: it is inside the sweep ${displayPath(sweep)} but not one of its points (a folder the sweep set aside). Pass the folder itself to include it.`)
        continue
      }
      seen.add(dir)
      const run = readRun(dir, warnings)
      if (run) stray.push(run)
    }
    // A sweep's point reads without its summary.json (from index.json and metrics.csv); another run does not.
    for (const dir of found.unsummarised) {
      if (seen.has(dir) || SET_ASIDE.test(basename(dir))) continue
      warnings.push(`Leaving out ${displayPath(dir)}: it holds a run's config.yaml and metrics.csv but no summary.json, which says how the run ended. \`mixture run --resume ${displayPath(dir)}\` writes it again (a finished run trains nothing more).`)
    }
    runs.push(...sortByPaperOrder(stray))
  }
  return {runs, sweeps, warnings}
}
