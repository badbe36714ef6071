/**
 * Validation-accuracy curves like the paper's Figures 4–7: one line per model, x = epoch,
 * y = test accuracy, legend with the model labels. Drawn with Vega-Lite (compiled to Vega and
 * rendered headless to SVG), then rasterised to PNG with resvg.
 */
import type {TopLevelSpec} from 'vega-lite'

import type {Series} from './curves.js'

/** Font stack for the plots; DejaVu Sans is the usual system font on Linux. */
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif'

/** The Vega-Lite spec for a set of curves (exported so it can be saved or inspected). */
export function curvesSpec(series: Series[], title: string): TopLevelSpec {
  const values = series.flatMap((s) => s.points.map((p) => ({model: s.name, epoch: p.epoch, accuracy: p.accuracy})))
  const epochs = values.map((v) => v.epoch)
  const first = Math.min(...epochs)
  const last = Math.max(...epochs)
  const onlySinglePoints = series.every((s) => s.points.length < 2)
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {text: title, fontSize: 16},
    width: 560,
    height: 340,
    background: 'white',
    padding: 10,
    data: {values},
    mark: {type: 'line', strokeWidth: 2, point: onlySinglePoints},
    encoding: {
      x: {
        field: 'epoch',
        type: 'quantitative',
        title: 'Epoch',
        scale: {domain: [first, last > first ? last : first + 1], nice: false},
        axis: {tickMinStep: 1, format: 'd'},
      },
      y: {field: 'accuracy', type: 'quantitative', title: 'Validation Accuracy', scale: {zero: false}},
      color: {
        field: 'model',
        type: 'nominal',
        title: 'Model',
        sort: null,
        scale: {domain: series.map((s) => s.name), scheme: series.length <= 10 ? 'tableau10' : 'category20'},
        legend: {orient: 'bottom', direction: 'vertical', columns: series.length > 4 ? 2 : 1, labelLimit: 0, symbolType: 'stroke', symbolStrokeWidth: 3},
      },
    },
    config: {font: FONT, axis: {labelFontSize: 11, titleFontSize: 12}, legend: {labelFontSize: 11, titleFontSize: 12}},
  }
}

/** Render the curves to an SVG document. */
export async function renderCurvesSvg(series: Series[], title: string): Promise<string> {
  const vl = await import('vega-lite')
  const vega = await import('vega')
  const compiled = vl.compile(curvesSpec(series, title)).spec
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
