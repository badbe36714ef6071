/**
 * `mixture report`: read run and sweep folders and write one self-contained HTML page (html.ts):
 * per dataset and image size, the paper-layout table with seeds aggregated and the accuracy and
 * loss curves; per run, its numbers, confusion matrices (`eval/*\/confusion.csv`), config and
 * environment. Only the output file is written (through a temporary file and a rename); the run
 * folders are read, never changed.
 */
import {existsSync, mkdirSync, readFileSync, statSync} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'
import type {TopLevelSpec} from 'vega-lite'

import {browserBundles} from './bundles.js'
import {displayPath} from '../fs/display-path.js'
import {confusionSpec, confusionSummary, HEATMAP_MAX_CLASSES, matrixAccuracy, readConfusionMatrices, showsHeatmap, type ConfusionMatrix} from './confusion.js'
import {collectGroups, RunGroup} from './group.js'
import {renderReportHtml, ReportSection, RunDetails} from './html.js'
import {datasetDisplayName, datasetKey} from './paper.js'
import {curvesTitle, figures} from './plot.js'
import {tableCaption} from './selection.js'
import {formatAccuracy, formatMinutes, incompleteNote, paperNote, toTableRows} from './table.js'
import {reportTitle} from './title.js'
import {ReportError, RunRecord} from './types.js'
import {writeFileAtomic} from '../fs/write-atomic.js'
import {CHECKPOINT_FILES} from '../run/folders.js'

export interface MakeReportOptions {
  /** Run folders, sweep folders or folders above them. */
  paths: string[]
  /** The HTML file, or a folder to write report.html into; default: report.html in the first input folder. */
  out?: string
  /** One row per run instead of one per model. */
  perSeed?: boolean
  /** Add the paper's published values in separate columns. */
  comparePaper?: boolean
  /** Page title; default (title.ts): the sweep's title, else "Results: " and each input's title or folder name. */
  title?: string
  /** Called with each warning as it arises. */
  warn?: (message: string) => void
}

export interface ReportResult {
  /** Absolute path of the HTML file written. */
  file: string
  /** One per dataset (and image size): its title and table rows. */
  sections: {title: string; rows: number}[]
  runs: number
  charts: number
  warnings: string[]
}

/** Where the page goes: --out as a file, or report.html inside --out when it is a folder, else inside the first input. */
function outputFile(options: MakeReportOptions): string {
  if (options.out !== undefined) {
    const out = resolve(options.out)
    return existsSync(out) && statSync(out).isDirectory() ? join(out, 'report.html') : out
  }
  const first = resolve(options.paths[0])
  return join(statSync(first).isDirectory() ? first : dirname(first), 'report.html')
}

/** The image size a group's section goes by: its own, else the one size its dataset's other groups share. */
function sizeOf(group: RunGroup, sizes: Map<string, Set<number>>): number | undefined {
  const known = sizes.get(datasetKey(group.dataset))
  return group.imageSize ?? (known?.size === 1 ? [...known][0] : undefined)
}

/** Groups by dataset and image size, in order of first appearance (a paper table each), with their titles. */
function bySection(groups: RunGroup[]): {title: string; groups: RunGroup[]}[] {
  const sizes = new Map<string, Set<number>>()
  for (const g of groups) if (g.imageSize !== undefined) sizes.set(datasetKey(g.dataset), (sizes.get(datasetKey(g.dataset)) ?? new Set()).add(g.imageSize))
  const sections = new Map<string, {title: string; groups: RunGroup[]}>()
  for (const group of groups) {
    const size = sizeOf(group, sizes)
    const key = `${datasetKey(group.dataset)}@${size ?? ''}`
    const name = group.dataset ? datasetDisplayName(group.dataset) : 'Unknown dataset'
    const several = (sizes.get(datasetKey(group.dataset))?.size ?? 0) > 1
    const title = several && size !== undefined ? `${name} at ${size}×${size}` : name
    const section = sections.get(key) ?? {title, groups: []}
    section.groups.push(group)
    sections.set(key, section)
  }
  return [...sections.values()]
}

function readText(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined
}

function runTitle(group: RunGroup, run: RunRecord): string {
  const seed = run.seed === null ? '' : ` · seed ${run.seed}`
  return `${group.label}${seed} · ${incompleteNote(run) ?? 'completed'}`
}

function runFacts(run: RunRecord): [string, string][] {
  const facts: [string, string][] = [
    ['Dataset', run.dataset ? datasetDisplayName(run.dataset) : ''],
    ['Seed', run.seed === null ? '' : String(run.seed)],
    ['Status', run.status],
    ['Epochs', run.epochs === null ? String(run.epochsCompleted) : `${run.epochsCompleted} of ${run.epochs}${run.stoppedEarly ? ' (stopped early)' : ''}`],
    ...(run.stoppedEarly ? ([['Stopped early', run.stoppedEarly]] as [string, string][]) : []),
    ...(run.selection === 'best_val'
      ? ([
          ['Test accuracy at best validation epoch', run.testAccuracyAtBestVal === null ? '' : `${formatAccuracy(run.testAccuracyAtBestVal)} (epoch ${run.bestValEpoch ?? '?'})`],
          ['Best validation accuracy', formatAccuracy(run.bestValAccuracy)],
          ['Best test accuracy over epochs', run.bestTestAccuracy === null ? '' : `${formatAccuracy(run.bestTestAccuracy)} (epoch ${run.bestTestEpoch ?? '?'})`],
        ] as [string, string][])
      : ([['Top-1 test accuracy', run.bestTestAccuracy === null ? '' : `${formatAccuracy(run.bestTestAccuracy)} (epoch ${run.bestTestEpoch ?? '?'})`]] as [string, string][])),
    ...(run.bestRawTestAccuracy === null ? [] : ([["Best test accuracy of the trained weights (the others score their average, train.ema)", formatAccuracy(run.bestRawTestAccuracy)]] as [string, string][])),
    ['Best train accuracy', formatAccuracy(run.bestTrainAccuracy)],
    ['Final test accuracy', formatAccuracy(run.finalTestAccuracy)],
    ['Training minutes', formatMinutes(run.trainMinutes)],
    ['Parameters', run.params === null ? '' : run.params.toLocaleString('en-US')],
    ['Backend', run.backend ?? ''],
    ['Started', run.started ?? ''],
    ['Finished', run.finished ?? ''],
  ]
  if (run.error) facts.push(['Error', run.error])
  return facts.filter(([, value]) => value !== '')
}

export async function makeReport(options: MakeReportOptions): Promise<ReportResult> {
  const warnings: string[] = []
  const warn = (message: string): void => {
    warnings.push(message)
    options.warn?.(message)
  }
  const groups = collectGroups(options.paths, options.perSeed ?? false, warn)
  const file = outputFile(options)
  if (existsSync(file) && statSync(file).isDirectory()) throw new ReportError(`${displayPath(file)} is a folder; pass --out with a file name, e.g. --out report.html.`)

  const specs: TopLevelSpec[] = []
  const addSpec = (spec: TopLevelSpec): number => specs.push(spec) - 1
  const anchors = new Map<RunRecord, string>()
  const runs: RunDetails[] = []
  for (const group of groups) {
    for (const run of group.runs) {
      if (!run.dir || anchors.has(run)) continue
      const anchor = `run-${runs.length + 1}`
      anchors.set(run, anchor)
      const env = readText(join(run.dir, 'env.json'))
      let envText = env
      try {
        if (env !== undefined) envText = JSON.stringify(JSON.parse(env), null, 2)
      } catch {
        // shown as written
      }
      runs.push({
        anchor,
        title: runTitle(group, run),
        dir: displayPath(run.dir),
        facts: runFacts(run),
        config: readText(join(run.dir, 'config.yaml')),
        env: envText,
        confusion: readConfusionMatrices(run.dir, warn).map((matrix) => {
          const facts = {name: matrix.name, ...(matrix.pairs ? {file: basename(matrix.file)} : {})}
          if (showsHeatmap(matrix)) return {...facts, chart: addSpec(confusionSpec(matrix)), ...matrixAccuracy(matrix.counts), ...provenance(run.dir!, matrix)}
          // Too many classes for a heatmap: the lowest per-class accuracies and the most frequent confusions instead.
          const summary = confusionSummary(matrix)
          return {...facts, accuracy: summary.accuracy, examples: summary.examples, summary, heatmapLimit: HEATMAP_MAX_CLASSES, ...provenance(run.dir!, matrix)}
        }),
      })
    }
  }

  const tableOptions = {comparePaper: options.comparePaper ?? false, perSeed: options.perSeed ?? false}
  const sections: ReportSection[] = bySection(groups).map(({title, groups: members}, i) => {
    const rows = toTableRows(members, tableOptions.comparePaper)
    return {
      id: `results-${i + 1}`,
      title,
      rows,
      tableOptions,
      caption: tableCaption(rows),
      paperNote: paperNote(rows, tableOptions),
      rowRuns: members.map((g) => g.runs.flatMap((run) => (anchors.has(run) ? [{anchor: anchors.get(run)!, text: run.seed === null ? basename(run.dir!) : `seed ${run.seed}`}] : []))),
      charts: figures(members, curvesTitle(members)).map((figure) => addSpec(figure.spec)),
    }
  })
  if (options.comparePaper && !sections.some((s) => s.rows.some((r) => r.paper))) {
    warn('No row matches a model the paper published for its dataset; the Paper columns are empty.')
  }

  const inputs = options.paths.map((p) => displayPath(resolve(p))).join(', ')
  const html = renderReportHtml(
    {
      title: options.title ?? reportTitle(options.paths, groups),
      subtitle: `${runs.length} run${runs.length === 1 ? '' : 's'} from ${inputs}; made ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} by mixture report.`,
      sections,
      runs,
      specs,
      warnings,
    },
    browserBundles(),
  )
  mkdirSync(dirname(file), {recursive: true})
  writeFileAtomic(file, html)
  return {file, sections: sections.map((s) => ({title: s.title, rows: s.rows.length})), runs: runs.length, charts: specs.length, warnings}
}

/**
 * Which checkpoint a matrix is of, and whether that checkpoint was written again after the matrix
 * (the run trained further, or was resumed): then the matrix describes an older epoch's weights.
 */
function provenance(runDir: string, matrix: ConfusionMatrix): {source?: string; stale?: string} {
  // Another folder's images (mixture eval --data-dir): said, so that it is not read as the run's own test evaluation.
  const data = matrix.dataDir === undefined ? '' : `, on the images in ${displayPath(matrix.dataDir)} (mixture eval --data-dir)`
  if (!matrix.checkpoint) return data ? {source: data.slice(2)} : {}
  const ckpt = Object.hasOwn(CHECKPOINT_FILES, matrix.checkpoint) ? CHECKPOINT_FILES[matrix.checkpoint as keyof typeof CHECKPOINT_FILES] : undefined
  const source = `${matrix.checkpoint}.ckpt${matrix.epoch === undefined ? '' : ` of epoch ${matrix.epoch}`}${data}`
  const file = ckpt ? join(runDir, ckpt) : undefined
  if (!file || !existsSync(file) || statSync(file).mtimeMs <= statSync(matrix.file).mtimeMs) return {source}
  const split = matrix.name.split('-')[0]
  const again = `${displayPath(runDir)} --ckpt ${matrix.checkpoint} --split ${split}${matrix.dataDir === undefined ? '' : ` --data-dir ${displayPath(matrix.dataDir)}`}`
  return {source, stale: `${ckpt} was written again after this evaluation, so it is not the checkpoint this matrix counts; run mixture eval ${again} to renew it.`}
}
