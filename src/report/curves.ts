/**
 * Per-epoch curves: `curves.csv` in long form, one line per run, epoch, split and metric
 * (`run,label,seed,epoch,split,metric,value`: loss and accuracy for train, test and, where a run
 * holds one out, val), and the series the figures draw: per model (table row), the mean over its
 * counted runs at each epoch with the sample standard deviation for a ±std band.
 */
import {basename} from 'node:path'
import {stringify} from 'csv-stringify/sync'

import {RunGroup, statOf} from './group.js'
import {datasetDisplayName} from './paper.js'
import {runDir} from './table.js'
import {CurveMetric, Split} from './types.js'

export const CURVES_CSV_COLUMNS = ['run', 'label', 'seed', 'epoch', 'split', 'metric', 'value'] as const

/** Long CSV: every history value of every run of every group, in table order; values unrounded; runs relative to `base`. */
export function renderCurvesCsv(groups: RunGroup[], base?: string): string {
  const lines: string[][] = [[...CURVES_CSV_COLUMNS]]
  for (const group of groups) {
    for (const run of group.runs) {
      const where = run.dir ? runDir(run.dir, base) : run.name
      for (const p of run.history) {
        lines.push([where, group.label, run.seed === null ? '' : String(run.seed), String(p.epoch), p.split, p.metric, String(p.value)])
      }
    }
  }
  return stringify(lines)
}

export interface SeriesPoint {
  epoch: number
  mean: number
  /** Sample standard deviation over the runs; null for one run. */
  std: number | null
  n: number
}

/** One line of a figure: a model's mean curve for one split and metric. */
export interface Series {
  /** Legend name: the label, with the dataset when rows span several, and the seed (or folder) for one-run rows of one model. */
  name: string
  split: Split
  metric: CurveMetric
  points: SeriesPoint[]
}

/** Unique legend names, one per group, in table order. */
function seriesNames(groups: RunGroup[]): string[] {
  const mixed = new Set(groups.map((g) => g.dataset)).size > 1
  const base = groups.map((g) => (mixed ? `${g.label} (${datasetDisplayName(g.dataset)})` : g.label))
  const counts = new Map<string, number>()
  for (const name of base) counts.set(name, (counts.get(name) ?? 0) + 1)
  const used = new Set<string>()
  return groups.map((group, i) => {
    let name = base[i]
    if ((counts.get(name) ?? 0) > 1) {
      const run = group.counted[0]
      const seeds = new Set(groups.filter((_, j) => base[j] === base[i]).map((g) => g.counted[0]?.seed))
      const tag = seeds.size > 1 && run.seed !== null ? `seed ${run.seed}` : run.dir ? basename(run.dir) : run.name
      name = `${name} [${tag}]`
    }
    for (let n = 2; used.has(name); n++) name = `${base[i]} #${n}`
    used.add(name)
    return name
  })
}

/** The mean curve of each group for `metric` on each of `splits` that it has; empty series are left out. */
export function toSeries(groups: RunGroup[], metric: CurveMetric, splits: readonly Split[]): Series[] {
  const names = seriesNames(groups)
  const series: Series[] = []
  groups.forEach((group, i) => {
    for (const split of splits) {
      const byEpoch = new Map<number, number[]>()
      for (const run of group.counted) {
        for (const p of run.history) {
          if (p.split === split && p.metric === metric) byEpoch.set(p.epoch, [...(byEpoch.get(p.epoch) ?? []), p.value])
        }
      }
      const points = [...byEpoch]
        .sort(([a], [b]) => a - b)
        .map(([epoch, values]) => {
          const stat = statOf(values)
          return {epoch, mean: stat.mean as number, std: stat.std, n: stat.n}
        })
      if (points.length > 0) series.push({name: names[i], split, metric, points})
    }
  })
  return series
}
