/**
 * Runs of one model form one table row. A model is a dataset and a label, the label's seed axis
 * left out (and the rule its best epoch was chosen by, selection.ts: runs with and without a
 * validation split are separate rows; so are runs of different accuracy definitions; rows that would
 * then read alike say what tells them apart, `Model [best_val]`, `Model [batch_mean]`; and the
 * precision: a mixed16 run's row says `[mixed16]`): a seed sweep labels its points `Model [seed=1]`, `Model [seed=2]`, and those, like
 * separate `mixture run --seed N` runs of one spec, are one group, reported as mean ± std over
 * seeds.
 *
 * Within a group one run per seed counts. A seed run more than once is a repeat, not a new sample
 * (same seed + same backend = same numbers): the latest completed run of that seed is used (by
 * `finished`, else `started`, else the summary's modification time) and the others are named in a
 * warning. The statistics are over the group's complete runs; when none is complete, over the
 * runs that trained an epoch (so an unfinished model still shows where it stands, marked as such),
 * else over the runs that have a folder (their cells empty: a run that trained no epoch has no
 * accuracy and no training time).
 * Runs of one label whose config.yaml differ in more than the seed and bookkeeping (another epoch
 * count, learning rate, data folder) are not averaged: each variant is its own row, its label
 * followed by its values of the keys that differ (`Model [train.optimizer.lr=0.01]`), with a warning
 * naming the keys and the runs (and a seed run in two variants is two runs, not a repeat). A
 * paper table's rows are one spec each, and its seeds differ in the seed alone: one row each.
 * With `perSeed` every run is its own group, labelled the same way.
 */
import {collectRuns} from './collect.js'
import {displayPath} from '../fs/display-path.js'
import {datasetKey, labelKey} from './paper.js'
import {ReportError, RunRecord} from './types.js'

export interface RunGroup {
  /** The model's label, without the seed axis. */
  label: string
  dataset: string
  imageSize?: number
  /** The runs' `data.label_mode`, where they give one. */
  labelMode?: string
  /** One run per seed (every run with `perSeed`), by seed. */
  runs: RunRecord[]
  /** The runs the row's numbers are computed over (see the module comment). */
  counted: RunRecord[]
}

/** Mean, sample standard deviation (n − 1; null below two values) and count of the finite values. */
export interface Stat {
  mean: number | null
  std: number | null
  n: number
}

export function statOf(values: (number | null)[]): Stat {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v))
  const n = finite.length
  if (n === 0) return {mean: null, std: null, n}
  const mean = finite.reduce((a, b) => a + b, 0) / n
  if (n < 2) return {mean, std: null, n}
  const variance = finite.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)
  return {mean, std: Math.sqrt(variance), n}
}

/** Completed: trained for every planned epoch, or until early stopping ended it. */
export function isComplete(run: RunRecord): boolean {
  return run.status === 'completed' && (run.epochs === null || run.epochsCompleted >= run.epochs || run.stoppedEarly !== undefined)
}

/**
 * The label without its seed axis: `Model [lr=1e-3, seed=2]` → `Model [lr=1e-3]`, `Model [seed=2]`
 * → `Model` (the form a sweep gives its grid points), when 2 is the run's seed.
 */
export function seedlessLabel(label: string, seed: number | null): string {
  if (seed === null) return label
  const match = /^(.*) \[(.*)\]$/s.exec(label)
  if (!match) return label
  const axes = match[2].split(', ')
  const rest = axes.filter((axis) => axis !== `seed=${seed}`)
  if (rest.length === axes.length) return label
  return rest.length > 0 ? `${match[1]} [${rest.join(', ')}]` : match[1]
}

/** A row's label with the precision its runs computed in, where it is not fp32 and the label does not say it already (a sweep axis). */
export function withPrecision(label: string, precision: string | undefined): string {
  if (!precision || precision === 'fp32' || label.includes(`precision=${precision}`)) return label
  return `${label} [${precision}]`
}

function describe(run: RunRecord): string {
  const where = run.dir ? displayPath(run.dir) : `sweep point ${run.sweep?.key ?? run.name}`
  const epochs = run.epochs === null ? '' : `, ${run.epochsCompleted}/${run.epochs} epochs`
  return `${where} (${run.status}${epochs})`
}

/** Of several runs with one seed: the latest complete one, else the latest with a folder, else the first. */
function pickRepeat(repeats: RunRecord[]): RunRecord {
  const latestFirst = (a: RunRecord, b: RunRecord): number => b.time - a.time
  return repeats.filter(isComplete).sort(latestFirst)[0] ?? repeats.filter((r) => r.dir !== undefined).sort(latestFirst)[0] ?? repeats[0]
}

/** The runs a row's numbers are over: the complete ones; where none is, those that trained an epoch (the others have no number to add), else those with a folder, else all. */
function countedOf(runs: RunRecord[]): RunRecord[] {
  for (const counts of [isComplete, (r: RunRecord) => r.epochsCompleted > 0, (r: RunRecord) => r.dir !== undefined]) {
    const counted = runs.filter(counts)
    if (counted.length > 0) return counted
  }
  return runs
}

/** Group runs into table rows (see the module comment); groups keep the order of their first run. */
export function groupRuns(runs: RunRecord[], perSeed = false): {groups: RunGroup[]; warnings: string[]} {
  const group = (label: string, members: RunRecord[]): RunGroup => ({
    label,
    dataset: members[0].dataset,
    imageSize: members.find((r) => r.imageSize !== undefined)?.imageSize,
    labelMode: members.find((r) => r.labelMode !== undefined)?.labelMode,
    runs: members,
    counted: countedOf(members),
  })
  const modelLabel = (run: RunRecord) => withPrecision(seedlessLabel(run.label, run.seed), run.precision)
  // Runs that chose their best epoch by different rules, computed accuracy by different
  // definitions, or computed in different precisions, are not samples of one number: separate rows.
  const modelOf = (run: RunRecord) => `${datasetKey(run.dataset)}\u0000${labelKey(modelLabel(run))}\u0000${run.selection}\u0000${run.accuracyDefinition}\u0000${run.precision ?? 'fp32'}`
  // Nor are runs configured differently: a row per variant, its label saying which.
  const {variants, splits} = variantsOf(runs, modelOf)
  const labelOf = (run: RunRecord) => (variants.has(run) ? `${modelLabel(run)} ${variants.get(run)}` : modelLabel(run))
  const keyOf = (run: RunRecord) => `${modelOf(run)}\u0000${variants.get(run) ?? ''}`
  if (perSeed) {
    // One row per run: a model's rows together, where its first run stands, by seed.
    const first = new Map<string, number>()
    for (const run of runs) if (!first.has(keyOf(run))) first.set(keyOf(run), first.size)
    const ordered = [...runs].sort((a, b) => first.get(keyOf(a))! - first.get(keyOf(b))! || (a.seed ?? Number.POSITIVE_INFINITY) - (b.seed ?? Number.POSITIVE_INFINITY))
    return {groups: ordered.map((run) => group(labelOf(run), [run])), warnings: []}
  }

  const byModel = new Map<string, {label: string; runs: RunRecord[]}>()
  for (const run of runs) {
    const key = keyOf(run)
    const entry = byModel.get(key)
    if (entry) entry.runs.push(run)
    else byModel.set(key, {label: labelOf(run), runs: [run]})
  }
  distinguishLabels([...byModel.values()])
  const warnings: string[] = splits.map(({runs: members, differences}) => {
    const rows = [...byModel.values()].filter((row) => row.runs.some((run) => members.includes(run))).map((row) => `"${row.label}"`)
    const dataset = members[0].dataset ? ` on ${members[0].dataset}` : ''
    return (
      `"${modelLabel(members[0])}"${dataset} has ${members.length} runs whose settings differ beyond the seed: ${differences.join('; ')}. ` +
      `They are ${rows.length} rows, not one mean: ${rows.join(', ')}. Give each variant its own label (label: in the spec, or --set label=...) to name its row.`
    )
  })
  const groups: RunGroup[] = []
  for (const {label, runs: members} of byModel.values()) {
    const bySeed = new Map<number | null, RunRecord[]>()
    for (const run of members) bySeed.set(run.seed, [...(bySeed.get(run.seed) ?? []), run])
    const kept = new Set<RunRecord>()
    for (const [seed, repeats] of bySeed) {
      const chosen = pickRepeat(repeats)
      kept.add(chosen)
      if (repeats.length === 1) continue
      const others = repeats.filter((r) => r !== chosen).map(describe)
      const dataset = chosen.dataset ? ` on ${chosen.dataset}` : ''
      const withSeed = seed === null ? '' : ` with seed ${seed}`
      warnings.push(
        `${repeats.length} runs of "${label}"${dataset}${withSeed}: the table uses ${describe(chosen)}; ` +
          `also found ${others.join(', ')}. Pass --per-seed to list every run.`,
      )
    }
    const bySeedOrder = (a: RunRecord, b: RunRecord): number => (a.seed ?? Number.POSITIVE_INFINITY) - (b.seed ?? Number.POSITIVE_INFINITY) || 0
    groups.push(group(label, members.filter((r) => kept.has(r)).sort(bySeedOrder)))
  }
  return {groups, warnings}
}

/**
 * Rows that would read alike — one label on one dataset, told apart only by the selection rule or
 * the accuracy definition — get what tells them apart after the label: `Model [best_val]`,
 * `Model [batch_mean]`.
 */
function distinguishLabels(rows: {label: string; runs: RunRecord[]}[]): void {
  const alike = new Map<string, {label: string; runs: RunRecord[]}[]>()
  for (const row of rows) {
    const key = `${datasetKey(row.runs[0].dataset)}\u0000${labelKey(row.label)}`
    alike.set(key, [...(alike.get(key) ?? []), row])
  }
  for (const same of alike.values()) {
    if (same.length < 2) continue
    const differs = (pick: (run: RunRecord) => string) => new Set(same.map((row) => pick(row.runs[0]))).size > 1
    const bySelection = differs((run) => run.selection)
    const byDefinition = differs((run) => run.accuracyDefinition)
    for (const row of same) {
      const what = [...(bySelection ? [row.runs[0].selection] : []), ...(byDefinition ? [row.runs[0].accuracyDefinition] : [])]
      row.label = `${row.label} [${what.join(', ')}]`
    }
  }
}

/** Keys of a run's config that do not change what it measures: who it is, where it ran and found its files, how often it wrote. */
const NOT_SETTINGS = new Set(['seed', 'name', 'label', 'plugins', 'engine', 'output', 'data.data_dir', 'train.metrics_every', 'train.checkpoint_every'])

/** A config as dotted keys → values (lists and scalars as JSON), leaving out NOT_SETTINGS. */
function settingsOf(config: Record<string, unknown>, prefix = '', out = new Map<string, string>()): Map<string, string> {
  for (const [key, value] of Object.entries(config)) {
    const path = prefix + key
    if (NOT_SETTINGS.has(path)) continue
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) settingsOf(value as Record<string, unknown>, `${path}.`, out)
    else out.set(path, JSON.stringify(value))
  }
  return out
}

/**
 * A registry entry given by its name alone (`train.loss: cross_entropy`) reads as the `type` key
 * (`train.loss.type`) where another config gives that entry as a mapping (`{type: focal, gamma: 2}`),
 * so that the two are one setting (`train.loss.type is "cross_entropy" … and "focal" …`), not a
 * name beside an unset type.
 */
function alignNamedEntries(settings: Map<string, string>[]): void {
  const mappings = new Set(settings.flatMap((s) => [...s.keys()]).filter((key) => key.endsWith('.type')).map((key) => key.slice(0, -'.type'.length)))
  for (const s of settings) {
    for (const key of mappings) {
      const value = s.get(key)
      if (value === undefined || typeof JSON.parse(value) !== 'string') continue
      s.delete(key)
      s.set(`${key}.type`, value)
    }
  }
}

/** How a key reads in a config that does not have it. */
const UNSET = '(unset)'

/** A setting's value as a label shows it: text as written, anything else as JSON. */
function shown(value: string): string {
  if (value === UNSET) return value
  const parsed: unknown = JSON.parse(value)
  return typeof parsed === 'string' ? parsed : value
}

/**
 * Runs of one model (`modelOf`) whose config.yaml differ beyond the seed and bookkeeping
 * (NOT_SETTINGS) are variants, not samples of one number. Each run's variant is its values of the
 * keys its model's runs differ in, `[train.optimizer.lr=0.01]`: empty for a model whose runs do not
 * differ, and for a run without a config.yaml (its settings are not known). Per model that differs,
 * `splits` says how: `train.epochs is 3 (seeds 0, 1) and 1 (seed 2)`, at most five keys named.
 */
function variantsOf(runs: RunRecord[], modelOf: (run: RunRecord) => string): {variants: Map<RunRecord, string>; splits: {runs: RunRecord[]; differences: string[]}[]} {
  const byModel = new Map<string, RunRecord[]>()
  for (const run of runs) if (run.config !== undefined) byModel.set(modelOf(run), [...(byModel.get(modelOf(run)) ?? []), run])
  const variants = new Map<RunRecord, string>()
  const splits: {runs: RunRecord[]; differences: string[]}[] = []
  for (const members of byModel.values()) {
    const settings = members.map((run) => settingsOf(run.config!))
    alignNamedEntries(settings)
    const keys = [...new Set(settings.flatMap((s) => [...s.keys()]))].sort()
    const differences: string[] = []
    const differing: string[] = []
    for (const key of keys) {
      const values = new Map<string, RunRecord[]>()
      settings.forEach((s, i) => {
        const value = s.get(key) ?? UNSET
        values.set(value, [...(values.get(value) ?? []), members[i]])
      })
      if (values.size < 2) continue
      differing.push(key)
      const which = (runsOfValue: RunRecord[]) => {
        const seeds = runsOfValue.map((r) => r.seed).filter((seed): seed is number => seed !== null)
        const distinct = [...new Set(seeds)]
        return seeds.length === runsOfValue.length ? `seed${distinct.length > 1 ? 's' : ''} ${distinct.join(', ')}` : runsOfValue.map((r) => (r.dir ? displayPath(r.dir) : r.name)).join(', ')
      }
      differences.push(`${key} is ${[...values].map(([value, runsOfValue]) => `${value} (${which(runsOfValue)})`).join(' and ')}`)
    }
    if (differing.length === 0) continue
    members.forEach((run, i) => variants.set(run, `[${differing.map((key) => `${key}=${shown(settings[i].get(key) ?? UNSET)}`).join(', ')}]`))
    splits.push({runs: members, differences: differences.length > 5 ? [...differences.slice(0, 5), `${differences.length - 5} more`] : differences})
  }
  return {variants, splits}
}

/**
 * Read run and sweep folders and group their runs into table rows (`perSeed`: one per run), with
 * the warnings of both steps. Throws a ReportError (exit 2) when there is nothing to tabulate.
 */
export function collectGroups(paths: string[], perSeed: boolean, warn: (message: string) => void): RunGroup[] {
  if (paths.length === 0) throw new ReportError('No input given. Pass one or more run or sweep folders, e.g. `mixture table results/cifar10-table`.')
  const collected = collectRuns(paths)
  for (const message of collected.warnings) warn(message)
  if (!collected.runs.some((r) => r.dir !== undefined)) {
    const found = collected.warnings.some((w) => /summary\.json cannot be read/.test(w)) ? 'No readable summary.json (see the warnings above)' : 'No summary.json found'
    throw new ReportError(
      `${found} under ${paths.join(', ')}. Pass run folders (each holds a summary.json, ` +
        'written by `mixture run`) or sweep folders or folders above them, e.g. `mixture table results/cifar10-alternating-1block`.',
    )
  }
  const grouped = groupRuns(collected.runs, perSeed)
  for (const message of grouped.warnings) warn(message)
  return grouped.groups
}
