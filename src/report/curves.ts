/**
 * Per-epoch validation (test) accuracy, one series per table row: `curves.csv` in wide form
 * (`epoch,<label 1>,<label 2>,…`, blank where a run has no such epoch), the data behind the plots.
 */
import {basename} from 'node:path'
import {stringify} from 'csv-stringify/sync'

import {datasetDisplayName} from './paper.js'
import {RunRecord} from './types.js'

export interface Series {
  /** Legend name: the label, with the dataset when rows span several, and the run folder for repeats. */
  name: string
  points: {epoch: number; accuracy: number}[]
}

/** One series per run that has at least one epoch, named uniquely and in table order. */
export function toSeries(runs: RunRecord[]): Series[] {
  const withCurves = runs.filter((r) => r.curve.length > 0)
  const mixed = new Set(runs.map((r) => r.dataset)).size > 1
  const base = withCurves.map((r) => (mixed ? `${r.label} (${datasetDisplayName(r.dataset)})` : r.label))
  const counts = new Map<string, number>()
  for (const name of base) counts.set(name, (counts.get(name) ?? 0) + 1)
  const used = new Set<string>()
  return withCurves.map((run, i) => {
    let name = base[i]
    if ((counts.get(name) ?? 0) > 1) name = `${name} [${run.dir ? basename(run.dir) : run.name}]`
    for (let n = 2; used.has(name); n++) name = `${base[i]} #${n}`
    used.add(name)
    return {name, points: run.curve}
  })
}

/** Wide CSV: one line per epoch seen in any series, one column per series; values unrounded. */
export function renderCurvesCsv(series: Series[]): string {
  const epochs = [...new Set(series.flatMap((s) => s.points.map((p) => p.epoch)))].sort((a, b) => a - b)
  const lookup = series.map((s) => new Map(s.points.map((p) => [p.epoch, p.accuracy])))
  const body = epochs.map((epoch) => [String(epoch), ...lookup.map((m) => (m.has(epoch) ? String(m.get(epoch)) : ''))])
  return stringify([['epoch', ...series.map((s) => s.name)], ...body])
}
