import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {collectRuns} from '../../src/report/collect.js'
import {renderCurvesCsv, toSeries} from '../../src/report/curves.js'
import {curvesTitle, makeTable} from '../../src/report/index.js'
import {SWEEP_FIXTURE, tempDir, writeRun} from './helpers.js'

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

describe('curves.csv', () => {
  it('is wide, one column per model in table order, blank past a run’s last epoch', () => {
    const series = toSeries(collectRuns([SWEEP_FIXTURE]).runs)
    assert.equal(
      renderCurvesCsv(series),
      [
        'epoch,"VIT (2 depth, 4 attention head)",1 Block Alternating MM (Conv + ViT),1 Block Joint MM (Conv + ViT)',
        '1,0.3012,0.5,0.45',
        '2,0.38125,0.62345,0.5',
        '3,0.4033,0.61,',
        '',
      ].join('\n'),
    )
  })

  it('names repeated models by run folder and mixed datasets by dataset', (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'r1'), {name: 'm', label: 'M', test: [0.1]})
    writeRun(join(dir, 'r2'), {name: 'm', label: 'M', test: [0.2]})
    assert.deepEqual(
      toSeries(collectRuns([dir]).runs).map((s) => s.name),
      ['M [r1]', 'M [r2]'],
    )
    writeRun(join(dir, 'r3'), {name: 'm100', label: 'M', dataset: 'cifar100', test: [0.3]})
    assert.deepEqual(
      toSeries(collectRuns([join(dir, 'r1'), join(dir, 'r3')]).runs).map((s) => s.name),
      ['M (CIFAR-10)', 'M (CIFAR-100)'],
    )
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
  it('writes tables, curves.csv, an SVG with one line per model and a PNG', async (t) => {
    const out = tempDir(t)
    const warnings: string[] = []
    const result = await makeTable({paths: [SWEEP_FIXTURE], out, warn: (m) => warnings.push(m)})
    assert.deepEqual(warnings, [])
    assert.deepEqual(Object.keys(result.files).sort(), [
      'curves_csv',
      'curves_png',
      'curves_svg',
      'table_csv',
      'table_extended_csv',
      'table_md',
    ])
    assert.deepEqual(readdirSync(out).sort(), [
      'curves.csv',
      'curves.png',
      'curves.svg',
      'table-extended.csv',
      'table.csv',
      'table.md',
    ])
    assert.equal(readFileSync(join(out, 'table.md'), 'utf8'), result.markdown)
    assert.equal(result.rows.length, 4)
    assert.equal(result.title, 'CIFAR-10')

    const svg = readFileSync(join(out, 'curves.svg'), 'utf8')
    assert.match(svg, /^<svg/)
    assert.equal(svg.match(/aria-roledescription="line mark"/g)?.length, 3)
    for (const label of ['VIT (2 depth, 4 attention head)', '1 Block Alternating MM (Conv + ViT)', '1 Block Joint MM (Conv + ViT)']) {
      assert.ok(svg.includes(`>${label}</text>`), `legend label ${label}`)
    }
    assert.ok(!svg.includes('Resnet 18'), 'a run without epochs has no line')
    assert.ok(svg.includes('>CIFAR-10</text>'))
    assert.ok(svg.includes('>Validation Accuracy</text>'))

    const png = readFileSync(join(out, 'curves.png'))
    assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE)
    assert.ok(png.length > 5000)
  })

  it('writes only what --format and --no-plot ask for, into the first input by default', async (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'run'), {name: 'm', label: 'M', test: [0.1, 0.2]})
    const result = await makeTable({paths: [join(dir, 'run')], format: 'md', plot: false})
    assert.deepEqual(Object.keys(result.files).sort(), ['curves_csv', 'table_md'])
    assert.equal(result.files.table_md, join(dir, 'run', 'table.md'))
    assert.ok(existsSync(join(dir, 'run', 'curves.csv')))
    assert.ok(!existsSync(join(dir, 'run', 'table.csv')))
    assert.ok(!readdirSync(join(dir, 'run')).some((f) => f.endsWith('.tmp')))
  })
})
