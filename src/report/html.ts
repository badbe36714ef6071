/**
 * The HTML report as one self-contained page: styles, data and the Vega, Vega-Lite and vega-embed
 * builds are inlined, so the file opens with no network. The page holds, per dataset, the
 * paper-layout table (one row per model, seeds aggregated) with its caption and the interactive
 * curves; then per run its numbers, confusion matrices, config.yaml and env.json.
 *
 * Charts are `<div class="chart" data-chart="i" data-width data-height>` elements drawn from the
 * i-th spec of the inlined list; when every chart has been drawn (or failed, logged with
 * console.error) the body gets `data-charts="rendered"` (or `"failed"`).
 */
import type {TopLevelSpec} from 'vega-lite'

import type {BrowserBundle} from './bundles.js'
import type {ConfusionSummary} from './confusion.js'
import {TableOptions, tableCells, TableRow, TEXT_COLUMNS} from './table.js'

export interface ReportSection {
  id: string
  title: string
  rows: TableRow[]
  tableOptions: TableOptions
  caption: string
  paperNote?: string
  /** Per row, links to the details of its runs. */
  rowRuns: {anchor: string; text: string}[][]
  /** Indexes into ReportPage.specs. */
  charts: number[]
}

export interface RunDetails {
  anchor: string
  title: string
  /** The run folder as given to the reader. */
  dir: string
  facts: [string, string][]
  config?: string
  env?: string
  /**
   * `source`: which checkpoint of which epoch the matrix is of; `stale`: why it no longer describes that checkpoint, if so.
   * `chart`: the heatmap's spec; where there are too many classes for one (more than `heatmapLimit`), `summary` instead.
   * `file`: the counts' file in the evaluation's folder, where it is not confusion.csv.
   */
  confusion: {name: string; file?: string; chart?: number; summary?: ConfusionSummary; heatmapLimit?: number; accuracy: number | null; examples: number; source?: string; stale?: string}[]
}

export interface ReportPage {
  title: string
  /** What the page was made from, and when. */
  subtitle: string
  sections: ReportSection[]
  runs: RunDetails[]
  specs: TopLevelSpec[]
  warnings: string[]
}

const ESCAPES: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c])
}

/** JSON safe inside a `<script>` element: no `<` can close it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c')
}

/** A script's source safe inside a `<script>` element. */
function scriptSource(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1')
}

const STYLE = `
:root { --ink: #1d2330; --muted: #5b6475; --rule: #d9dde5; --band: #f5f7fa; --accent: #2f6db5; }
* { box-sizing: border-box; }
body { font: 15px/1.5 "DejaVu Sans", Helvetica, Arial, sans-serif; color: var(--ink); margin: 0 auto; max-width: 1200px; padding: 24px 32px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 21px; margin: 40px 0 12px; border-bottom: 1px solid var(--rule); padding-bottom: 4px; }
h3 { font-size: 17px; margin: 24px 0 8px; } h4 { font-size: 15px; margin: 18px 0 6px; }
.subtitle, .caption, .note { color: var(--muted); } .caption { max-width: 900px; font-size: 13.5px; }
nav { margin: 16px 0; font-size: 14px; } nav a { margin-right: 16px; }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
table.results { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
table.results th, table.results td { padding: 6px 12px; border-bottom: 1px solid var(--rule); vertical-align: top; }
table.results thead th { border-bottom: 2px solid var(--ink); text-align: left; }
table.results .num { text-align: right; white-space: nowrap; }
table.results tbody tr:nth-child(even) { background: var(--band); }
.runs-of-row { display: block; font-size: 12px; color: var(--muted); }
.charts { display: flex; flex-wrap: wrap; gap: 16px; margin-top: 16px; }
.chart { min-height: 40px; }
details.run { border: 1px solid var(--rule); border-radius: 6px; margin: 8px 0; padding: 6px 12px; }
details.run > summary { cursor: pointer; font-weight: 600; }
.table-wrap { overflow-x: auto; } table.results td:first-child { min-width: 16em; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; font-size: 14px; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; }
pre { background: var(--band); padding: 10px 12px; overflow: auto; max-height: 420px; font-size: 12.5px; border-radius: 4px; }
.warnings li { color: #8a4b00; }
`

/** Draws every chart, marks each as drawn, then the body as rendered or failed. */
const EMBED = `
(function () {
  var specs = JSON.parse(document.getElementById('chart-specs').textContent);
  var charts = Array.prototype.slice.call(document.querySelectorAll('.chart[data-chart]'));
  var options = {renderer: 'svg', actions: {export: true, source: false, compiled: false, editor: false}};
  Promise.allSettled(charts.map(function (el) {
    return vegaEmbed(el, specs[Number(el.dataset.chart)], options).then(function () { el.dataset.rendered = 'true'; });
  })).then(function (results) {
    var failed = results.filter(function (r) { return r.status === 'rejected'; });
    failed.forEach(function (r) { console.error('chart not drawn: ' + (r.reason && r.reason.message || r.reason)); });
    document.body.dataset.charts = failed.length > 0 ? 'failed' : 'rendered';
  });
})();
`

function chart(index: number, spec: TopLevelSpec): string {
  const size = spec as {width?: unknown; height?: unknown}
  const width = typeof size.width === 'number' ? ` data-width="${size.width}"` : ''
  const height = typeof size.height === 'number' ? ` data-height="${size.height}"` : ''
  return `<div class="chart" data-chart="${index}"${width}${height}></div>`
}

function renderTable(section: ReportSection): string {
  const {head, body} = tableCells(section.rows, section.tableOptions, true)
  const numeric = head.map((h) => !TEXT_COLUMNS.has(h))
  const th = head.map((h, i) => `<th${numeric[i] ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('')
  const lines = body.map((cells, r) => {
    const tds = cells.map((cell, i) => {
      let content = escapeHtml(cell)
      if (head[i] === 'Model' && section.rowRuns[r].length > 0) {
        const links = section.rowRuns[r].map((run) => `<a href="#${run.anchor}">${escapeHtml(run.text)}</a>`).join(' · ')
        content += `<span class="runs-of-row">${links}</span>`
      }
      return `<td${numeric[i] ? ' class="num"' : ''}>${content}</td>`
    })
    return `<tr>${tds.join('')}</tr>`
  })
  return `<div class="table-wrap"><table class="results"><thead><tr>${th}</tr></thead><tbody>${lines.join('')}</tbody></table></div>`
}

function renderSection(section: ReportSection, specs: TopLevelSpec[]): string {
  return [
    `<section id="${section.id}"><h2>${escapeHtml(section.title)}</h2>`,
    renderTable(section),
    `<p class="caption">${escapeHtml(section.caption)}</p>`,
    section.paperNote ? `<p class="note">${escapeHtml(section.paperNote)}</p>` : '',
    section.charts.length > 0 ? `<div class="charts">${section.charts.map((i) => chart(i, specs[i])).join('')}</div>` : '',
    '</section>',
  ].join('\n')
}

/** A matrix of too many classes for a heatmap: one line saying so and where the counts are, the lowest per-class accuracies, the most frequent confusions. */
function confusionTables(summary: ConfusionSummary, file: string, limit?: number): string {
  // Columns from `numeric` on are numbers, right-aligned.
  const table = (head: string[], numeric: number, rows: string[][]) =>
    `<div class="table-wrap"><table class="results"><thead><tr>${head.map((h, i) => `<th${i >= numeric ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
      .map((cells) => `<tr>${cells.map((cell, i) => `<td${i >= numeric ? ' class="num"' : ''}>${escapeHtml(cell)}</td>`).join('')}</tr>`)
      .join('')}</tbody></table></div>`
  const more = limit === undefined ? '' : `, more than the ${limit} a heatmap shows legibly`
  const note = `<p class="note">No heatmap: ${summary.classes.toLocaleString('en-US')} classes${more}; ${file} has every count. Below: the ${summary.worst.length} classes of lowest accuracy and the ${summary.confusions.length} most frequent confusions.</p>`
  const worst = table(
    ['Class (lowest accuracy)', 'Examples', 'Correct', 'Accuracy'],
    1,
    summary.worst.map((w) => [w.class, String(w.examples), String(w.correct), w.accuracy.toFixed(4)]),
  )
  const confusions = table(
    ['True class', 'Predicted class', 'Examples', 'Share of the true class'],
    2,
    summary.confusions.map((c) => [c.true, c.predicted, String(c.count), `${(100 * c.share).toFixed(1)}%`]),
  )
  return `${note}${worst}${confusions}`
}

function renderRun(run: RunDetails, specs: TopLevelSpec[]): string {
  const facts = run.facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')
  const confusion = run.confusion.map((c) => {
    const accuracy = c.accuracy === null ? '' : ` Accuracy from the matrix: ${c.accuracy.toFixed(4)} over ${c.examples} examples.`
    const source = c.source ? ` (${escapeHtml(c.source)})` : ''
    const stale = c.stale ? `<p class="note"><strong>Out of date:</strong> ${escapeHtml(c.stale)}</p>` : ''
    const file = `eval/${escapeHtml(c.name)}/${escapeHtml(c.file ?? 'confusion.csv')}`
    const body = c.chart !== undefined ? chart(c.chart, specs[c.chart]) : c.summary ? confusionTables(c.summary, file, c.heatmapLimit) : ''
    return `<h4>Confusion matrix: ${escapeHtml(c.name)}</h4><p class="note">From ${file}${source}.${accuracy}</p>${stale}${body}`
  })
  return [
    `<details class="run" id="${run.anchor}"><summary>${escapeHtml(run.title)}</summary>`,
    `<p class="note">${escapeHtml(run.dir)}</p>`,
    `<dl class="facts">${facts}</dl>`,
    ...confusion,
    run.config === undefined ? '' : `<h4>config.yaml</h4><pre>${escapeHtml(run.config)}</pre>`,
    run.env === undefined ? '' : `<h4>env.json</h4><pre>${escapeHtml(run.env)}</pre>`,
    '</details>',
  ].join('\n')
}

export function renderReportHtml(page: ReportPage, bundles: BrowserBundle[]): string {
  const nav = [...page.sections.map((s) => `<a href="#${s.id}">${escapeHtml(s.title)}</a>`), '<a href="#runs">Runs</a>']
  const warnings =
    page.warnings.length > 0
      ? `<section id="warnings"><h2>Warnings</h2><ul class="warnings">${page.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></section>`
      : ''
  const versions = bundles.map((b) => `${b.name} ${b.version}`).join(', ')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="mixture-models (charts: ${escapeHtml(versions)})">
<title>${escapeHtml(page.title)}</title>
<style>${STYLE}</style>
${bundles.map((b) => `<script>/* ${b.name} ${b.version} */\n${scriptSource(b.source)}\n</script>`).join('\n')}
</head>
<body>
<header><h1>${escapeHtml(page.title)}</h1><p class="subtitle">${escapeHtml(page.subtitle)}</p></header>
<nav>${nav.join('')}</nav>
${page.sections.map((s) => renderSection(s, page.specs)).join('\n')}
<section id="runs"><h2>Runs</h2>
${page.runs.map((r) => renderRun(r, page.specs)).join('\n')}
</section>
${warnings}
<script type="application/json" id="chart-specs">${scriptJson(page.specs)}</script>
<script>${EMBED}</script>
</body>
</html>
`
}
