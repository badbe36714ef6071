/**
 * Figures like the paper's Figures 4–7: one line per model, x = epoch, y = the metric on a split,
 * legend with the model labels; a model with several runs draws its mean with a ±std band. Drawn
 * with Vega-Lite (compiled to Vega and rendered headless to SVG), then rasterised to PNG with resvg;
 * the same spec, data included, is what `*.vl.json` holds and what the HTML report embeds.
 */
import type {TopLevelSpec} from 'vega-lite'

import {toSeries, type Series} from './curves.js'
import type {RunGroup} from './group.js'
import {datasetDisplayName, findPaperRow} from './paper.js'
import {SPLITS, type CurveMetric, type Split} from './types.js'

/** Font stack for the plots; DejaVu Sans is the usual system font on Linux. */
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif'

const SPLIT_NAMES: Record<Split, string> = {train: 'Train', val: 'Validation', test: 'Test', raw_test: 'Test (Trained Weights)'}
const METRIC_NAMES: Record<CurveMetric, string> = {accuracy: 'Accuracy', loss: 'Loss (cross-entropy)'}

/** What the y axis shows: `Test Accuracy` for one split, `Accuracy` when the split is in the legend. */
export function axisTitle(metric: CurveMetric, splits: Split[]): string {
  return splits.length === 1 ? `${SPLIT_NAMES[splits[0]]} ${METRIC_NAMES[metric]}` : METRIC_NAMES[metric]
}

/** The Vega-Lite spec for a set of series of one metric (exported so it can be saved or embedded). */
export function curvesSpec(series: Series[], title: string): TopLevelSpec {
  const metric = series[0]?.metric ?? 'accuracy'
  const splits = [...new Set(series.map((s) => s.split))]
  const models = [...new Set(series.map((s) => s.name))]
  const values = series.flatMap((s) =>
    s.points.map((p) => ({
      model: s.name,
      split: SPLIT_NAMES[s.split],
      epoch: p.epoch,
      [metric]: p.mean,
      std: p.std,
      n: p.n,
      low: p.std === null ? p.mean : p.mean - p.std,
      high: p.std === null ? p.mean : p.mean + p.std,
    })),
  )
  const epochs = values.map((v) => v.epoch)
  const first = Math.min(...epochs)
  const last = Math.max(...epochs)
  const onlySinglePoints = series.every((s) => s.points.length < 2)
  const x = {
    field: 'epoch',
    type: 'quantitative' as const,
    title: 'Epoch',
    scale: {domain: [first, last > first ? last : first + 1], nice: false},
    axis: {tickMinStep: 1, format: 'd'},
  }
  const color = {
    field: 'model',
    type: 'nominal' as const,
    title: 'Model',
    sort: null,
    scale: {domain: models, scheme: (models.length <= 10 ? 'tableau10' : 'category20') as 'tableau10' | 'category20'},
    legend: {orient: 'bottom' as const, direction: 'vertical' as const, columns: models.length > 4 ? 2 : 1, labelLimit: 0, symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1},
  }
  const detail = splits.length > 1 ? {strokeDash: {field: 'split', type: 'nominal' as const, title: 'Split', sort: splits.map((s) => SPLIT_NAMES[s])}} : {}
  const yTitle = axisTitle(metric, splits)
  const banded = series.some((s) => s.points.some((p) => p.n > 1))
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {text: title, fontSize: 16, ...(banded ? {subtitle: 'Lines: mean over seeds; bands: ± one sample standard deviation', subtitleFontSize: 11} : {})},
    width: 560,
    height: 340,
    background: 'white',
    padding: 10,
    data: {values},
    layer: [
      {
        // ±std band of models with several runs
        transform: [{filter: 'datum.n > 1'}],
        mark: {type: 'area', opacity: 0.18},
        encoding: {x, y: {field: 'low', type: 'quantitative', title: yTitle}, y2: {field: 'high'}, color, ...(splits.length > 1 ? {detail: {field: 'split'}} : {})},
      },
      {
        params: [{name: 'highlight', select: {type: 'point', fields: ['model']}, bind: 'legend'}],
        mark: {type: 'line', strokeWidth: 2, point: onlySinglePoints},
        encoding: {
          x,
          y: {field: metric, type: 'quantitative', title: yTitle, scale: {zero: false}},
          color,
          ...detail,
          opacity: {condition: {param: 'highlight', value: 1}, value: 0.2},
          tooltip: [
            {field: 'model', title: 'Model'},
            {field: 'split', title: 'Split'},
            {field: 'epoch', title: 'Epoch'},
            {field: metric, title: yTitle, format: '.4f'},
            {field: 'std', title: '± std', format: '.4f'},
            {field: 'n', title: 'runs'},
          ],
        },
      },
    ],
    config: {font: FONT, axis: {labelFontSize: 11, titleFontSize: 12}, legend: {labelFontSize: 11, titleFontSize: 12}},
  }
}

/** Render a Vega-Lite spec to an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vl = await import('vega-lite')
  const vega = await import('vega')
  const compiled = vl.compile(spec).spec
  const view = new vega.View(vega.parse(compiled), {renderer: 'none'})
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}


/** Rasterise an SVG to PNG (throws when resvg is unavailable or fails). */
export async function renderPng(svg: string): Promise<Buffer> {
  const {Resvg} = await import('@resvg/resvg-js')
  const resvg = new Resvg(svg, {
    fitTo: {mode: 'zoom', value: 2},
    font: {loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans'},
  })
  return resvg.render().asPng()
}

/** Figure title for the curves: the paper's when every matched row comes from one of its tables. */
export function curvesTitle(runs: {dataset: string; label: string; imageSize?: number; labelMode?: string}[]): string {
  const datasets = new Set(runs.map((r) => r.dataset))
  if (datasets.size !== 1) return 'Per-epoch curves'
  const [dataset] = datasets
  const figures = new Set<string>()
  for (const run of runs) {
    const match = findPaperRow(run.dataset, run.label, run.imageSize, run.labelMode)
    if (match) figures.add(match.table.curves.title)
  }
  if (figures.size === 1) return [...figures][0]
  return dataset ? datasetDisplayName(dataset) : 'Per-epoch curves'
}

/** A figure of the run folders' curves: the files it is written to and its spec. */
export interface Figure {
  /** File name without extension: `curves` (accuracy, the paper's figure) or `curves-loss`. */
  file: 'curves' | 'curves-loss'
  metric: CurveMetric
  spec: TopLevelSpec
}

/**
 * The figures for a set of table rows: accuracy on the held-out splits (test, and val where runs
 * have one; the paper's Figures 4–7; and the test split on the trained weights of runs with
 * train.ema, beside their average's) and loss on every split. A figure without any data is left out.
 */
export function figures(groups: RunGroup[], title: string): Figure[] {
  const out: Figure[] = []
  const accuracy = toSeries(groups, 'accuracy', ['val', 'test', 'raw_test'])
  if (accuracy.length > 0) out.push({file: 'curves', metric: 'accuracy', spec: curvesSpec(accuracy, title)})
  const loss = toSeries(groups, 'loss', SPLITS)
  if (loss.length > 0) out.push({file: 'curves-loss', metric: 'loss', spec: curvesSpec(loss, `${title}: loss`)})
  return out
}
