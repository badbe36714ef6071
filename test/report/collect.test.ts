import assert from 'node:assert/strict'
import {cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {collectRuns, parseMetricsCsv} from '../../src/report/collect.js'
import {makeTable, ReportError} from '../../src/report/index.js'
import {groupRuns} from '../../src/report/group.js'
import {SWEEP_FIXTURE, tempDir, writeIndex, writeRun} from './helpers.js'

describe('collectRuns', () => {
  it("follows a sweep index's order and keeps points that have no run yet", () => {
    const {runs} = collectRuns([SWEEP_FIXTURE])
    assert.deepEqual(
      runs.map((r) => [r.label, r.status, r.dataset]),
      [
        ['VIT (2 depth, 4 attention head)', 'completed', 'cifar10'],
        ['1 Block Alternating MM (Conv + ViT)', 'completed', 'cifar10'],
        ['1 Block Joint MM (Conv + ViT)', 'failed', 'cifar10'],
        ['Resnet 18 (Baseline)', 'pending', 'cifar10'],
      ],
    )
    assert.equal(runs[2].error, 'out of memory')
    assert.equal(runs[3].dir, undefined)
    assert.deepEqual(runs[1].curve, [
      {epoch: 1, accuracy: 0.5},
      {epoch: 2, accuracy: 0.62345},
      {epoch: 3, accuracy: 0.61},
    ])
  })

  it("orders runs outside any index by the paper's order of models, then by name", (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'a-vit'), {name: 'a-vit', label: 'VIT (2 depth, 4 attention head)', test: [0.3]})
    writeRun(join(dir, 'b-custom'), {name: 'b-custom', label: 'My Model', test: [0.3]})
    writeRun(join(dir, 'c-resnet'), {name: 'c-resnet', label: 'Resnet 18 (Baseline)', test: [0.3]})
    writeRun(join(dir, 'd-alt2'), {name: 'd-alt2', label: '2 Block Alternating MM (Conv + ViT)', test: [0.3]})
    writeRun(join(dir, 'e-alt1'), {name: 'e-alt1', label: '1 Block Alternating MM (Conv + ViT)', test: [0.3]})
    writeRun(join(dir, 'a-another'), {name: 'a-another', label: 'Another Model', test: [0.3]})
    assert.deepEqual(
      collectRuns([dir]).runs.map((r) => r.name),
      ['e-alt1', 'd-alt2', 'c-resnet', 'a-vit', 'a-another', 'b-custom'],
    )
  })

  it('fills values the summary lacks, or that metrics.csv has moved past, from metrics.csv', (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'partial'), {
      name: 'partial',
      label: 'P',
      test: [0.4, 0.7, 0.6],
      seconds: 30,
      omit: ['best_test_accuracy', 'best_test_epoch', 'train_minutes', 'epochs_completed'],
    })
    const run = collectRuns([join(dir, 'partial')]).runs[0]
    assert.equal(run.bestTestAccuracy, 0.7)
    assert.equal(run.bestTestEpoch, 2)
    assert.equal(run.trainMinutes, 1.5)
    assert.equal(run.epochsCompleted, 3)

    // A running run whose summary was written after epoch 1 while metrics.csv has 2 epochs.
    const running = writeRun(join(dir, 'running'), {name: 'running', label: 'R', status: 'running', epochs: 5, test: [0.2]})
    writeFileSync(join(running, 'metrics.csv'), `${METRICS}\n1,1,0.3,1,0.2,60,2,1,10\n2,1,0.5,1,0.45,90,2,1,10\n`)
    const updated = collectRuns([running]).runs[0]
    assert.equal(updated.epochsCompleted, 2)
    assert.equal(updated.bestTestAccuracy, 0.45)
    assert.equal(updated.bestTrainAccuracy, 0.5)
    assert.equal(updated.trainMinutes, 2.5)
  })

  it('skips an unreadable summary.json with a warning', (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'good'), {name: 'good', label: 'G', test: [0.5]})
    mkdirSync(join(dir, 'bad'))
    writeFileSync(join(dir, 'bad', 'summary.json'), '{not json')
    const {runs, warnings} = collectRuns([dir])
    assert.deepEqual(
      runs.map((r) => r.name),
      ['good'],
    )
    assert.equal(warnings.length, 1)
    assert.match(warnings[0], /Skipping .*bad: summary\.json cannot be read/)
  })

  it('follows links to run and sweep folders (a folder of links gathers them), each real folder once, a link loop ending', (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'real', 'a'), {name: 'a', label: 'A', test: [0.5]})
    writeRun(join(dir, 'real', 'b'), {name: 'b', label: 'B', test: [0.6]})
    mkdirSync(join(dir, 'gathered'))
    symlinkSync(join(dir, 'real', 'a'), join(dir, 'gathered', 'a-link'))
    symlinkSync(join(dir, 'real'), join(dir, 'gathered', 'all'))
    symlinkSync(join(dir, 'gathered'), join(dir, 'gathered', 'loop'))
    symlinkSync(join(dir, 'nowhere'), join(dir, 'gathered', 'broken'))
    const {runs} = collectRuns([join(dir, 'gathered')])
    assert.deepEqual(runs.map((r) => r.name).sort(), ['a', 'b'])
  })

  it('leaves out a run folder without summary.json (config.yaml and metrics.csv only), saying so and how to write it again', (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'good'), {name: 'good', label: 'G', test: [0.5]})
    writeRun(join(dir, 'lost'), {name: 'lost', label: 'L', test: [0.6]})
    writeFileSync(join(dir, 'lost', 'config.yaml'), 'name: lost\n')
    rmSync(join(dir, 'lost', 'summary.json'))
    const {runs, warnings} = collectRuns([dir])
    assert.deepEqual(runs.map((r) => r.name), ['good'])
    assert.equal(warnings.length, 1, warnings.join('\n'))
    assert.match(warnings[0], /Leaving out .*lost: it holds a run's config\.yaml and metrics\.csv but no summary\.json.*`mixture run --resume .*lost` writes it again/)
  })

  it("leaves out a run folder a sweep set aside (not among its index's points), saying so; alone it is read", (t) => {
    const dir = tempDir(t)
    const sweep = join(dir, 'sweep')
    writeRun(join(sweep, 'seed-0'), {name: 'seed-0', label: 'M', seed: 0, test: [0.5]})
    const aside = writeRun(join(sweep, 'seed-0.old-20261206T050000'), {name: 'seed-0', label: 'M', seed: 0, test: [0.9]})
    writeIndex(sweep, {name: 'sweep', points: [{key: 'seed=0', label: 'M', run_dir: 'seed-0', status: 'completed', grid: {seed: 0}}]})
    const {runs, warnings} = collectRuns([dir])
    assert.deepEqual(runs.map((r) => r.bestTestAccuracy), [0.5], 'the set-aside run counted as a second run of the point')
    assert.ok(warnings.some((w) => /seed-0\.old-20261206T050000: it is inside the sweep .*sweep but not one of its points/.test(w)), warnings.join('\n'))
    assert.deepEqual(collectRuns([aside]).runs.map((r) => r.bestTestAccuracy), [0.9])
  })

  it('reads a sweep index whose points are searched only once', (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'runs', 'z'), {name: 'z', label: 'Z', test: [0.5]})
    writeRun(join(dir, 'runs', 'a'), {name: 'a', label: 'A', test: [0.5]})
    writeIndex(dir, {name: 's', points: [{key: 'z', label: 'Z', status: 'completed', run_dir: 'runs/z'}]})
    assert.deepEqual(
      collectRuns([dir]).runs.map((r) => r.name),
      ['z', 'a'],
    )
  })
})

const METRICS = 'epoch,train_loss,train_accuracy,test_loss,test_accuracy,train_seconds,eval_seconds,data_seconds,images_per_second'

describe('parseMetricsCsv', () => {
  it('reads columns by name and tolerates CRLF, blank lines and missing columns', () => {
    const rows = parseMetricsCsv('test_accuracy,epoch\r\n0.5,2\r\n\r\n0.25,1\r\n')
    assert.deepEqual(
      rows.map((r) => [r.epoch, r.test_accuracy]),
      [
        [1, 0.25],
        [2, 0.5],
      ],
    )
    assert.ok(Number.isNaN(rows[0].train_seconds))
  })

  it('reads each epoch\'s learning rate, and NaN from files written before the lr column', () => {
    const row = '1,1.5,0.25,1.25,0.5,2.000,0.500,0.100,300.0'
    assert.equal(parseMetricsCsv(`${METRICS},lr\n${row},0.05\n`)[0].lr, 0.05)
    const old = parseMetricsCsv(`${METRICS}\n${row}\n`)
    assert.ok(Number.isNaN(old[0].lr))
    assert.equal(old[0].test_accuracy, 0.5)
  })
})

describe('several runs of one model with one seed', () => {
  it('keeps the latest completed run of the seed and names the others in a warning', (t) => {
    const dir = tempDir(t)
    const label = '1 Block Alternating MM (Conv + ViT)'
    writeRun(join(dir, 'old'), {name: 'alt', label, test: [0.5], finished: '2025-01-01T00:00:00Z'})
    writeRun(join(dir, 'new'), {name: 'alt', label, test: [0.6], finished: '2025-02-01T00:00:00Z'})
    writeRun(join(dir, 'newest-failed'), {name: 'alt', label, status: 'failed', epochs: 3, test: [0.7], finished: null, started: '2025-03-01T00:00:00Z'})
    writeRun(join(dir, 'other-dataset'), {name: 'alt100', label, dataset: 'cifar100', test: [0.3]})
    const {runs} = collectRuns([dir])
    const picked = groupRuns(runs)
    assert.deepEqual(
      picked.groups.map((g) => [g.dataset, g.runs.map((r) => r.bestTestAccuracy)]),
      [
        ['cifar10', [0.6]],
        ['cifar100', [0.3]],
      ],
    )
    assert.equal(picked.warnings.length, 1)
    assert.match(picked.warnings[0], /^3 runs of "1 Block Alternating MM \(Conv \+ ViT\)" on cifar10 with seed 42: the table uses \S*new \(completed, 1\/1 epochs\)/)
    assert.match(picked.warnings[0], /newest-failed \(failed, 1\/3 epochs\)/)
    assert.match(picked.warnings[0], /old \(completed, 1\/1 epochs\)/)
    assert.match(picked.warnings[0], /--per-seed/)
    assert.equal(groupRuns(runs, true).groups.length, 4)
  })
})

describe('makeTable errors', () => {
  it('refuses folders without any summary.json (exit 2)', async (t) => {
    const dir = tempDir(t)
    mkdirSync(join(dir, 'empty', 'deeper'), {recursive: true})
    await assert.rejects(makeTable({paths: [dir]}), (error: unknown) => {
      assert.ok(error instanceof ReportError)
      assert.equal(error.exit, 2)
      assert.match(error.message, /No summary\.json found under .*Pass run folders/)
      return true
    })
  })

  it('refuses a path that does not exist (exit 2)', async (t) => {
    const dir = tempDir(t)
    await assert.rejects(makeTable({paths: [join(dir, 'missing')]}), (error: unknown) => {
      assert.ok(error instanceof ReportError)
      assert.equal(error.exit, 2)
      assert.match(error.message, /missing does not exist/)
      return true
    })
  })
})

describe('collectRuns, what a run folder says about itself', () => {
  it("reads a failed run's error from its summary.json, and warns of a metrics.csv cell that is not a number", (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'nan'), {name: 'n', label: 'N', status: 'failed', test: [0.4], summary: {error: 'training loss became NaN in epoch 2'}})
    writeRun(join(dir, 'damaged'), {name: 'd', label: 'D', test: [0.5, 0.6]})
    const metrics = join(dir, 'damaged', 'metrics.csv')
    writeFileSync(metrics, readFileSync(metrics, 'utf8').replace('1.6,0.6,', '1.6,abc,'))
    const {runs, warnings} = collectRuns([dir])
    assert.equal(runs.find((r) => r.name === 'n')?.error, 'training loss became NaN in epoch 2')
    assert.ok(warnings.some((w) => /damaged.metrics\.csv is damaged \(line 3, column test_accuracy: "abc" is not a number\)/.test(w)), warnings.join('\n'))
  })
})

describe('collectRuns, a Slurm sweep whose point has a folder but no run yet', () => {
  it('reads the point as not started: its folder holds the launcher\'s log only', (t) => {
    const dir = tempDir(t)
    cpSync(SWEEP_FIXTURE, dir, {recursive: true})
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'))
    index.points[3].run_dir = '04-resnet18'
    index.points[3].status = 'submitted'
    writeFileSync(join(dir, 'index.json'), JSON.stringify(index))
    mkdirSync(join(dir, '04-resnet18'))
    writeFileSync(join(dir, '04-resnet18', 'slurm.log'), '')
    const {runs, warnings} = collectRuns([dir])
    assert.deepEqual([runs[3].dir, runs[3].dataset, runs[3].status], [undefined, 'cifar10', 'submitted'])
    assert.deepEqual(warnings, [])
  })
})

describe('makeTable inputs and outputs', () => {
  it('takes a run folder by one of its own files, and refuses any other file (exit 2)', async (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'run'), {name: 'r', label: 'R', test: [0.5]})
    assert.equal(collectRuns([join(dir, 'run', 'summary.json')]).runs.length, 1)
    writeFileSync(join(dir, 'notes.txt'), 'x')
    assert.throws(() => collectRuns([join(dir, 'notes.txt')]), (error: unknown) => error instanceof ReportError && error.exit === 2 && /notes\.txt is a file, not a run or sweep folder/.test(error.message))
  })

  it('refuses --out naming a file (exit 2)', async (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'run'), {name: 'r', label: 'R', test: [0.5]})
    await assert.rejects(makeTable({paths: [dir], out: join(dir, 'run', 'summary.json')}), (error: unknown) => error instanceof ReportError && error.exit === 2 && /is a file; the table's files go into a folder/.test(error.message))
  })
})
