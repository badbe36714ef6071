import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {collectRuns} from '../../src/report/collect.js'
import {renderCurvesCsv, toSeries} from '../../src/report/curves.js'
import {groupRuns} from '../../src/report/group.js'
import {curvesTitle, makeTable} from '../../src/report/index.js'
import {renderSvg} from '../../src/report/plot.js'
import {METRICS_HEADER, SWEEP_FIXTURE, tempDir, writeRun} from './helpers.js'

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

describe('curves.csv', () => {
  it('is long: run, label, seed, epoch, split, metric, value for every run in table order', () => {
    const groups = groupRuns(collectRuns([SWEEP_FIXTURE]).runs).groups
    const lines = renderCurvesCsv(groups, SWEEP_FIXTURE).trimEnd().split('\n')
    assert.equal(lines[0], 'run,label,seed,epoch,split,metric,value')
    // 3 runs with folders: 3 + 3 + 2 epochs, each train and test loss and accuracy
    assert.equal(lines.length, 1 + 8 * 4)
    assert.deepEqual(lines.slice(1, 5), [
      'cifar10-vit/20250101-000000-a1b2c3,"VIT (2 depth, 4 attention head)",42,1,train,loss,2',
      'cifar10-vit/20250101-000000-a1b2c3,"VIT (2 depth, 4 attention head)",42,1,train,accuracy,0.31',
      'cifar10-vit/20250101-000000-a1b2c3,"VIT (2 depth, 4 attention head)",42,1,test,loss,1.9',
      'cifar10-vit/20250101-000000-a1b2c3,"VIT (2 depth, 4 attention head)",42,1,test,accuracy,0.3012',
    ])
    assert.equal(lines.at(-1), 'cifar10-joint-1block/20250101-002000-0a1b2c,1 Block Joint MM (Conv + ViT),42,2,test,accuracy,0.5')
  })

  it('carries a val split where metrics.csv has one', (t) => {
    const dir = tempDir(t)
    const run = writeRun(join(dir, 'r'), {name: 'm', label: 'M', test: [0.5]})
    writeFileSync(join(run, 'metrics.csv'), `${METRICS_HEADER},val_loss,val_accuracy\n1,1.5,0.6,1.6,0.5,60,2,0.5,1000,1.4,0.55\n`)
    const csv = renderCurvesCsv(groupRuns(collectRuns([run]).runs).groups, dir)
    assert.match(csv, /^r,M,42,1,val,loss,1\.4$/m)
    assert.match(csv, /^r,M,42,1,val,accuracy,0\.55$/m)
  })
})

describe('series', () => {
  it('names one-run rows of one model by seed, else by run folder, and mixed datasets by dataset', (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'r1'), {name: 'm', label: 'M', test: [0.1], seed: 1})
    writeRun(join(dir, 'r2'), {name: 'm', label: 'M', test: [0.2], seed: 2})
    const perSeed = (paths: string[]) => toSeries(groupRuns(collectRuns(paths).runs, true).groups, 'accuracy', ['test']).map((s) => s.name)
    assert.deepEqual(perSeed([dir]), ['M [seed 1]', 'M [seed 2]'])
    writeRun(join(dir, 'r3'), {name: 'm', label: 'M', test: [0.3], seed: 2})
    assert.deepEqual(perSeed([join(dir, 'r2'), join(dir, 'r3')]), ['M [r2]', 'M [r3]'])
    writeRun(join(dir, 'r4'), {name: 'm100', label: 'M', dataset: 'cifar100', test: [0.3]})
    assert.deepEqual(perSeed([join(dir, 'r1'), join(dir, 'r4')]), ['M (CIFAR-10)', 'M (CIFAR-100)'])
  })

  it('draws the mean over seeds with the sample standard deviation', (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 's1'), {name: 'm', label: 'M', test: [0.5, 0.7], seed: 1})
    writeRun(join(dir, 's2'), {name: 'm', label: 'M', test: [0.6, 0.8], seed: 2})
    writeRun(join(dir, 's3'), {name: 'm', label: 'M', test: [0.7], seed: 3, status: 'failed', epochs: 2})
    const [series] = toSeries(groupRuns(collectRuns([dir]).runs).groups, 'accuracy', ['test'])
    assert.equal(series.name, 'M')
    // the failed run is not counted
    assert.deepEqual(
      series.points.map((p) => [p.epoch, p.n]),
      [
        [1, 2],
        [2, 2],
      ],
    )
    assert.ok(Math.abs(series.points[0].mean - 0.55) < 1e-12)
    assert.ok(Math.abs((series.points[0].std ?? 0) - Math.SQRT1_2 * 0.1) < 1e-12)
  })

  it("takes the paper's figure title for the models shown", (t) => {
    assert.equal(curvesTitle(collectRuns([SWEEP_FIXTURE]).runs), 'CIFAR-10')
    const dir = tempDir(t)
    writeRun(join(dir, 'p'), {name: 'p', label: 'Alternating (1 Block)', dataset: 'stl10', imageSize: 96, test: [0.5]})
    writeRun(join(dir, 'c'), {name: 'c', label: 'CNN', dataset: 'stl10', imageSize: 96, test: [0.5]})
    assert.equal(curvesTitle(collectRuns([dir]).runs), 'STL-10 Accuracy, CNN + Perceiver MM Model')
    writeRun(join(dir, 'v'), {name: 'v', label: '1 Block Joint MM (Conv + ViT)', dataset: 'stl10', test: [0.5]})
    assert.equal(curvesTitle(collectRuns([dir]).runs), 'STL-10')
  })
})

describe('makeTable output files', () => {
  it('writes tables, curves.csv, and per figure (accuracy, loss) its Vega-Lite spec, an SVG with one line per model and a PNG', async (t) => {
    const out = tempDir(t)
    const warnings: string[] = []
    const result = await makeTable({paths: [SWEEP_FIXTURE], out, warn: (m) => warnings.push(m)})
    assert.deepEqual(warnings, [])
    assert.deepEqual(Object.keys(result.files).sort(), [
      'curves_csv',
      'curves_loss_png',
      'curves_loss_svg',
      'curves_loss_vl_json',
      'curves_png',
      'curves_svg',
      'curves_vl_json',
      'table_csv',
      'table_extended_csv',
      'table_md',
    ])
    assert.deepEqual(readdirSync(out).sort(), [
      'curves-loss.png',
      'curves-loss.svg',
      'curves-loss.vl.json',
      'curves.csv',
      'curves.png',
      'curves.svg',
      'curves.vl.json',
      'table-extended.csv',
      'table.csv',
      'table.md',
    ])
    assert.equal(readFileSync(join(out, 'table.md'), 'utf8'), result.markdown)
    assert.equal(result.rows.length, 4)
    // A sweep's title (index.json) titles its curves as it titles table.md, as the sweep's own table job does.
    assert.equal(result.title, 'CIFAR-10 Results Table')
    assert.match(result.markdown, /^# CIFAR-10 Results Table\n/)

    const svg = readFileSync(join(out, 'curves.svg'), 'utf8')
    assert.match(svg, /^<svg/)
    assert.equal(svg.match(/aria-roledescription="line mark"/g)?.length, 3)
    for (const label of ['VIT (2 depth, 4 attention head)', '1 Block Alternating MM (Conv + ViT)', '1 Block Joint MM (Conv + ViT)']) {
      assert.ok(svg.includes(`>${label}</text>`), `legend label ${label}`)
    }
    assert.ok(!svg.includes('Resnet 18'), 'a run without epochs has no line')
    assert.ok(svg.includes('>CIFAR-10 Results Table</text>'))
    assert.ok(svg.includes('>Test Accuracy</text>'), 'the axis names the split it shows')
    assert.ok(!svg.includes('Validation'), 'no split the runs do not have')

    // The saved spec is the figure, data included: it compiles and draws the same marks.
    const spec = JSON.parse(readFileSync(join(out, 'curves.vl.json'), 'utf8')) as {data: {values: {model: string; accuracy: number}[]}}
    assert.equal(spec.data.values.length, 8)
    assert.equal(spec.data.values.find((v) => v.model === '1 Block Alternating MM (Conv + ViT)')?.accuracy, 0.5)
    assert.equal((await renderSvg(spec as never)).match(/aria-roledescription="line mark"/g)?.length, 3)

    // Loss: a solid test line and a dashed train line per model.
    const loss = readFileSync(join(out, 'curves-loss.svg'), 'utf8')
    assert.equal(loss.match(/aria-roledescription="line mark"/g)?.length, 6)
    assert.ok(loss.includes('>Loss (cross-entropy)</text>'))
    assert.ok(loss.includes('>Train</text>') && loss.includes('>Test</text>'), 'the split legend')

    const png = readFileSync(join(out, 'curves.png'))
    assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE)
    assert.ok(png.length > 5000)
  })

  it('writes only what --format and --no-plot ask for, into the first input by default', async (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'run'), {name: 'm', label: 'M', test: [0.1, 0.2]})
    const result = await makeTable({paths: [join(dir, 'run')], format: 'md', plot: false})
    assert.deepEqual(Object.keys(result.files).sort(), ['curves_csv', 'table_md'])
    assert.ok(!existsSync(join(dir, 'run', 'curves.vl.json')))
    assert.equal(result.files.table_md, join(dir, 'run', 'table.md'))
    assert.ok(existsSync(join(dir, 'run', 'curves.csv')))
    assert.ok(!existsSync(join(dir, 'run', 'table.csv')))
    assert.ok(!readdirSync(join(dir, 'run')).some((f) => f.endsWith('.tmp')))
  })
})
