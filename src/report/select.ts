/**
 * One row per model: when several runs share a dataset and label, the table keeps the latest
 * completed one (by `finished`, else `started`, else the summary's modification time) and warns
 * about the rest; with `all` every run stays.
 */
import {displayPath} from './collect.js'
import {datasetKey, labelKey} from './paper.js'
import {RunRecord} from './types.js'

/** Completed and trained for every planned epoch. */
export function isComplete(run: RunRecord): boolean {
  return run.status === 'completed' && (run.epochs === null || run.epochsCompleted >= run.epochs)
}

function describe(run: RunRecord): string {
  const where = run.dir ? displayPath(run.dir) : `sweep point ${run.sweep?.key ?? run.name}`
  const epochs = run.epochs === null ? '' : `, ${run.epochsCompleted}/${run.epochs} epochs`
  return `${where} (${run.status}${epochs})`
}

export function selectRuns(runs: RunRecord[], all = false): {runs: RunRecord[]; warnings: string[]} {
  if (all) return {runs, warnings: []}
  const groups = new Map<string, RunRecord[]>()
  for (const run of runs) {
    const key = `${datasetKey(run.dataset)}\u0000${labelKey(run.label)}`
    const group = groups.get(key)
    if (group) group.push(run)
    else groups.set(key, [run])
  }
  const keep = new Set<RunRecord>()
  const warnings: string[] = []
  for (const group of groups.values()) {
    if (group.length === 1) {
      keep.add(group[0])
      continue
    }
    const latestFirst = (a: RunRecord, b: RunRecord): number => b.time - a.time
    const completed = group.filter(isComplete).sort(latestFirst)
    const withFolder = group.filter((r) => r.dir !== undefined).sort(latestFirst)
    const chosen = completed[0] ?? withFolder[0] ?? group[0]
    keep.add(chosen)
    const others = group.filter((r) => r !== chosen).map(describe)
    const dataset = chosen.dataset ? ` on ${chosen.dataset}` : ''
    warnings.push(
      `${group.length} runs of "${chosen.label}"${dataset}: the table uses ${describe(chosen)}; ` +
        `also found ${others.join(', ')}. Pass --all to list every run.`,
    )
  }
  return {runs: runs.filter((r) => keep.has(r)), warnings}
}
