// The HTML report in a real browser: Debian's chromium, headless, driven by playwright-core.
import assert from 'node:assert/strict'
import {cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {after, before, describe, it} from 'node:test'
import {chromium, type Browser} from 'playwright-core'

import {makeReport} from '../../src/report/make-report.js'
import {chromiumMissing, findChromium} from './chromium.js'
import {ROOT, SWEEP_FIXTURE, tempDir, writeRun} from './helpers.js'
import {skipUnless} from '../require.js'

/** What the page did: console errors, requests that left the file, and every chart's drawing. */
interface Inspection {
  state: string | undefined
  errors: string[]
  requests: string[]
  tables: number[]
  charts: {index: number; rendered: boolean; width: number; height: number; wantWidth: number; wantHeight: number; items: number; wantItems: number}[]
}

async function inspect(browser: Browser, file: string): Promise<Inspection> {
  const page = await browser.newPage({viewport: {width: 1280, height: 900}})
  const errors: string[] = []
  const requests: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  page.on('pageerror', (error) => errors.push(error.message))
  await page.route('**/*', (route) => {
    const url = route.request().url()
    if (url.startsWith('file:')) return route.continue()
    requests.push(url)
    return route.abort()
  })
  try {
    await page.goto(pathToFileURL(file).href)
    await page.waitForSelector('body[data-charts]', {timeout: 30_000})
    // Charts inside a run's details are drawn while closed; open them to measure.
    await page.evaluate(() => document.querySelectorAll('details.run').forEach((d) => ((d as HTMLDetailsElement).open = true)))
    const found = await page.evaluate(() => {
      const specs = JSON.parse(document.getElementById('chart-specs')!.textContent!) as {data: {values: Record<string, unknown>[]}; layer: {mark: {type: string} | string}[]}[]
      const charts = [...document.querySelectorAll<HTMLElement>('.chart[data-chart]')].map((el) => {
        const index = Number(el.dataset.chart)
        const spec = specs[index]
        const values = spec?.data?.values ?? []
        const isLines = spec?.layer?.some((l) => (typeof l.mark === 'string' ? l.mark : l.mark.type) === 'line')
        const svg = el.querySelector('svg')
        const box = svg?.getBoundingClientRect()
        // Drawn items: a path per line, a path per heatmap cell, each with geometry.
        const selector = isLines ? 'g.mark-line.role-mark path' : 'g.mark-rect.role-mark path'
        const items = svg ? [...svg.querySelectorAll(selector)].filter((p) => (p.getAttribute('d') ?? '').length > 8).length : 0
        const wantItems = isLines ? new Set(values.map((v) => `${v.model}\u0000${v.split}`)).size : values.length
        return {
          index,
          rendered: el.dataset.rendered === 'true',
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          wantWidth: Number(el.dataset.width),
          wantHeight: Number(el.dataset.height),
          items,
          wantItems,
        }
      })
      const tables = [...document.querySelectorAll('table.results')].map((t) => t.querySelectorAll('tbody > tr').length)
      return {state: document.body.dataset.charts, charts, tables}
    })
    return {...found, errors, requests}
  } finally {
    await page.close()
  }
}

/** Every file under `dir` with its size and modification time. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, {recursive: true, withFileTypes: true})
    .filter((e) => e.isFile())
    .map((e) => {
      const file = join(e.parentPath, e.name)
      const s = statSync(file)
      return `${file} ${s.size} ${s.mtimeMs}`
    })
    .sort()
}

// The skip goes on each test (not the suite) so that the runner counts the skipped tests.
const skip = skipUnless('chromium', chromiumMissing())

describe('mixture report in chromium', () => {
  let browser: Browser | undefined

  before(async () => {
    if (skip) return
    const executablePath = findChromium()
    if (executablePath === undefined) throw new Error(`chromium is required by MIXTURE_REQUIRE but missing: ${chromiumMissing()}`)
    browser = await chromium.launch({
      executablePath,
      args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      timeout: 60_000,
    })
  })

  after(async () => {
    await browser?.close()
  })

  it('opens with no network and no console errors, draws every chart at its size, one table row per model', {skip}, async (t) => {
    const dir = tempDir(t)
    const runs = join(dir, 'runs')
    const label = '2 Block Alternating MM (Conv + ViT)'
    for (const seed of [0, 1, 2]) writeRun(join(runs, `alt2-${seed}`), {name: 'alt2', label, seed, test: [0.5 + seed / 100, 0.6 + seed / 50, 0.65]})
    const fashion = writeRun(join(runs, 'fashion'), {name: 'quickstart', label: 'Quickstart', dataset: 'fashion_mnist', imageSize: 16, test: [0.8, 0.87]})
    mkdirSync(join(fashion, 'eval'))
    cpSync(join(ROOT, 'test/fixtures/eval/test-best'), join(fashion, 'eval', 'test-best'), {recursive: true})
    const before = [...snapshot(runs), ...snapshot(SWEEP_FIXTURE)]

    const result = await makeReport({paths: [SWEEP_FIXTURE, runs], out: join(dir, 'out', 'report.html')})
    assert.deepEqual([...snapshot(runs), ...snapshot(SWEEP_FIXTURE)], before, 'the run folders are not changed')
    assert.deepEqual(result.sections, [
      {title: 'CIFAR-10', rows: 5},
      {title: 'Fashion-MNIST', rows: 1},
    ])
    // accuracy + loss per section, and the confusion matrix
    assert.equal(result.charts, 5)

    const page = await inspect(browser!, result.file)
    assert.deepEqual(page.errors, [])
    assert.deepEqual(page.requests, [])
    assert.equal(page.state, 'rendered')
    assert.deepEqual(page.tables, [5, 1], 'one table row per model: the three seeds are one row')
    assert.equal(page.charts.length, 5)
    for (const chart of page.charts) {
      assert.ok(chart.rendered, `chart ${chart.index} drawn`)
      assert.ok(chart.wantItems > 0, `chart ${chart.index} has data`)
      assert.equal(chart.items, chart.wantItems, `chart ${chart.index}: every line or cell drawn`)
      assert.ok(chart.width >= chart.wantWidth && chart.width <= chart.wantWidth + 600, `chart ${chart.index} width ${chart.width} for a ${chart.wantWidth} plot`)
      assert.ok(chart.height >= chart.wantHeight && chart.height <= chart.wantHeight + 400, `chart ${chart.index} height ${chart.height} for a ${chart.wantHeight} plot`)
    }
    // 10 Fashion-MNIST classes: a 10 × 10 heatmap
    assert.equal(page.charts.at(-1)?.items, 100)
  })

  it('sees a chart that fails, a console error and a request for the network', {skip}, async (t) => {
    const dir = tempDir(t)
    const {file} = await makeReport({paths: [SWEEP_FIXTURE], out: join(dir, 'report.html')})
    const html = readFileSync(file, 'utf8')
    const specsAt = html.indexOf('<script type="application/json" id="chart-specs">')
    const start = html.indexOf('>', specsAt) + 1
    const end = html.indexOf('</script>', start)
    const specs = JSON.parse(html.slice(start, end)) as unknown[]
    specs[0] = {mark: 'no-such-mark', data: {values: [{a: 1}]}}
    const broken = join(dir, 'broken.html')
    writeFileSync(broken, `${html.slice(0, start)}${JSON.stringify(specs)}${html.slice(end).replace('</body>', '<img src="https://example.invalid/pixel.png"></body>')}`)
    const page = await inspect(browser!, broken)
    assert.equal(page.state, 'failed')
    assert.ok(page.errors.some((e) => /chart not drawn/.test(e)), page.errors.join('\n'))
    assert.deepEqual(page.requests, ['https://example.invalid/pixel.png'])
    assert.equal(page.charts[0].rendered, false)
    assert.equal(page.charts[0].items, 0)
  })
})
