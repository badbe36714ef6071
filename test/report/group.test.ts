import assert from 'node:assert/strict'
import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {runExperiment} from '../../src/run/experiment.js'
import {runSweep} from '../../src/sweep/run.js'
import {runSeeds} from '../../src/run/seeds.js'
import {collectRuns} from '../../src/report/collect.js'
import {groupRuns, seedlessLabel, statOf, withPrecision} from '../../src/report/group.js'
import {makeTable} from '../../src/report/index.js'
import {EXTENDED_COLUMNS, renderCsv, renderExtendedCsv, renderMarkdown, toTableRows} from '../../src/report/table.js'
import {tableCaption} from '../../src/report/selection.js'
import {TINY_CNN_SPEC, writeSpec} from '../helpers.js'
import {tempDir, writeIndex, writeRun} from './helpers.js'

const ALT = '1 Block Alternating MM (Conv + ViT)'

describe('seed groups', () => {
  it('reads a sweep label without its seed axis, keeping the other axes', () => {
    assert.equal(seedlessLabel('M [seed=2]', 2), 'M')
    assert.equal(seedlessLabel('M [lr=1e-3, seed=2]', 2), 'M [lr=1e-3]')
    assert.equal(seedlessLabel('M [seed=2, batch_size=8]', 2), 'M [batch_size=8]')
    assert.equal(seedlessLabel('M [seed=2]', 3), 'M [seed=2]', 'only the run’s own seed')
    assert.equal(seedlessLabel('M [seed=2]', null), 'M [seed=2]')
    assert.equal(seedlessLabel('Perceiver (32 × 32 latents)', 1), 'Perceiver (32 × 32 latents)')
    assert.equal(seedlessLabel('Two\nlines [seed=2]', 2), 'Two\nlines', 'a label of several lines')
  })

  it('keeps runs of another precision in a row of their own, its label saying which', (t) => {
    const dir = tempDir(t)
    for (const seed of [0, 1]) {
      writeRun(join(dir, `fp32-${seed}`), {name: `m-${seed}`, label: 'M', seed, test: [0.8 + seed / 100]})
      writeRun(join(dir, `mixed16-${seed}`), {name: `m16-${seed}`, label: 'M', seed, test: [0.7 + seed / 100], summary: {precision: 'mixed16'}})
    }
    const {groups, warnings} = groupRuns(collectRuns([dir]).runs)
    assert.deepEqual(
      groups.map((g) => [g.label, g.counted.map((r) => r.bestTestAccuracy)]),
      [
        ['M', [0.8, 0.81]],
        ['M [mixed16]', [0.7, 0.71]],
      ],
    )
    assert.deepEqual(warnings, [], 'runs of one seed in two precisions are not repeats')
    assert.equal(withPrecision('M [engine.precision=mixed16]', 'mixed16'), 'M [engine.precision=mixed16]', 'a sweep axis already says it')
  })

  it('keeps runs of another accuracy definition in a row of their own, rows of one label telling which they are', (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'a'), {name: 'm', label: 'M', seed: 0, test: [0.8]})
    writeRun(join(dir, 'b'), {name: 'm', label: 'M', seed: 1, test: [0.82]})
    writeRun(join(dir, 'c'), {name: 'm', label: 'M', seed: 2, test: [0.3], summary: {accuracy: 'batch_mean'}})
    writeRun(join(dir, 'v'), {name: 'v', label: 'V', seed: 0, test: [0.5], summary: {accuracy: 'batch_mean'}})
    const {groups, warnings} = groupRuns(collectRuns([dir]).runs)
    assert.deepEqual(
      groups.map((g) => [g.label, g.counted.map((r) => r.bestTestAccuracy)]),
      [
        ['M [per_example]', [0.8, 0.82]],
        ['M [batch_mean]', [0.3]],
        ['V', [0.5]],
      ],
    )
    assert.deepEqual(warnings, [])
    const caption = tableCaption(toTableRows(groups))
    assert.match(caption, /per example \(correct predictions \/ examples in the split\) for M \[per_example\]; the mean of per-batch accuracies \(the paper’s code\) for M \[batch_mean\], V\./)
  })

  it("reads a registry entry given by name and one given as a mapping as one setting, the name as the mapping's type", (t) => {
    const dir = tempDir(t)
    const config = (loss: string) => `name: m\nlabel: M\nseed: 0\ndata: {dataset: cifar10, image_size: 32}\ntrain: {epochs: 1, loss: ${loss}}\n`
    for (const [folder, loss] of [['plain', 'cross_entropy'], ['focal', '{type: focal, gamma: 2}']] as const) {
      writeRun(join(dir, folder), {name: 'm', label: 'M', seed: 0, test: [0.8]})
      writeFileSync(join(dir, folder, 'config.yaml'), config(loss))
    }
    const {groups} = groupRuns(collectRuns([dir]).runs)
    assert.deepEqual(groups.map((g) => g.label).sort(), ['M [train.loss.gamma=(unset), train.loss.type=cross_entropy]', 'M [train.loss.gamma=2, train.loss.type=focal]'])
  })

  it('makes a row per variant of runs configured differently beyond the seed, labels saying the values, a warning naming the keys and runs', (t) => {
    const dir = tempDir(t)
    // Seeds 0 and 1 differ in bookkeeping only (threads, how often metrics are written): one variant.
    const config = (seed: number, epochs: number, lr: number) => `name: m\nlabel: M\nseed: ${seed}\ndata: {dataset: cifar10, image_size: 32}\ntrain: {epochs: ${epochs}, optimizer: {type: adam, lr: ${lr}}, metrics_every: ${seed + 1}}\nengine: {backend: cpu, threads: ${seed + 1}}\n`
    for (const [folder, seed, epochs, lr] of [['s0', 0, 3, 0.001], ['s1', 1, 3, 0.001], ['s2', 2, 1, 0.01], ['s0-again', 0, 1, 0.01]] as const) {
      writeRun(join(dir, folder), {name: 'm', label: 'M', seed, test: [0.8 + seed / 100]})
      writeFileSync(join(dir, folder, 'config.yaml'), config(seed, epochs, lr))
    }
    const {groups, warnings} = groupRuns(collectRuns([dir]).runs)
    assert.deepEqual(
      groups.map((g) => [g.label, g.counted.map((r) => r.seed)]),
      [
        ['M [train.epochs=3, train.optimizer.lr=0.001]', [0, 1]],
        ['M [train.epochs=1, train.optimizer.lr=0.01]', [0, 2]],
      ],
      'seed 0 in the second variant is a run of its own, not a repeat of seed 0 in the first',
    )
    assert.deepEqual(warnings, [
      '"M" on cifar10 has 4 runs whose settings differ beyond the seed: train.epochs is 3 (seeds 0, 1) and 1 (seeds 0, 2); train.optimizer.lr is 0.001 (seeds 0, 1) and 0.01 (seeds 0, 2). ' +
        'They are 2 rows, not one mean: "M [train.epochs=3, train.optimizer.lr=0.001]", "M [train.epochs=1, train.optimizer.lr=0.01]". Give each variant its own label (label: in the spec, or --set label=...) to name its row.',
    ])
    assert.deepEqual(
      groupRuns(collectRuns([dir]).runs, true).groups.map((g) => [g.label, g.runs[0].seed]),
      [
        ['M [train.epochs=3, train.optimizer.lr=0.001]', 0],
        ['M [train.epochs=3, train.optimizer.lr=0.001]', 1],
        ['M [train.epochs=1, train.optimizer.lr=0.01]', 0],
        ['M [train.epochs=1, train.optimizer.lr=0.01]', 2],
      ],
      '--per-seed labels each run by its variant too',
    )
  })

  it('labels a variant by the text of a value that is text, and keeps a run without a config.yaml out of the variants', (t) => {
    const dir = tempDir(t)
    for (const [folder, root] of [['a', '/data/a'], ['b', '/data/b']]) {
      writeRun(join(dir, folder), {name: 'm', label: 'M', seed: 0, test: [0.5]})
      writeFileSync(join(dir, folder, 'config.yaml'), `name: m\nlabel: M\nseed: 0\ndata: {dataset: image_folder, root: ${root}}\n`)
    }
    writeRun(join(dir, 'c'), {name: 'm', label: 'M', seed: 1, test: [0.6]})
    rmSync(join(dir, 'c', 'config.yaml'))
    const {groups} = groupRuns(collectRuns([dir]).runs)
    assert.deepEqual(groups.map((g) => g.label), ['M [data.root=/data/a]', 'M [data.root=/data/b]', 'M'])
  })

  it('computes the mean and the sample standard deviation', () => {
    const stat = statOf([0.87, 0.874, 0.868, null])
    assert.equal(stat.n, 3)
    assert.ok(Math.abs((stat.mean ?? 0) - 0.870667) < 1e-6)
    assert.ok(Math.abs((stat.std ?? 0) - 0.0030551) < 1e-6)
    assert.deepEqual(statOf([0.5]), {mean: 0.5, std: null, n: 1})
    assert.deepEqual(statOf([]), {mean: null, std: null, n: 0})
  })

  it('makes one row of separate runs with different seeds: mean ± std (n), time likewise', (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'a'), {name: 'alt', label: ALT, seed: 0, test: [0.5, 0.87], seconds: 1500})
    writeRun(join(dir, 'b'), {name: 'alt', label: ALT, seed: 1, test: [0.5, 0.874], seconds: 1530})
    writeRun(join(dir, 'c'), {name: 'alt', label: ALT, seed: 2, test: [0.868, 0.6], seconds: 1470})
    writeRun(join(dir, 'vit'), {name: 'vit', label: 'VIT (2 depth, 4 attention head)', test: [0.4]})
    const {groups, warnings} = groupRuns(collectRuns([dir]).runs)
    assert.deepEqual(warnings, [])
    assert.deepEqual(
      groups.map((g) => [g.label, g.runs.length]),
      [
        [ALT, 3],
        ['VIT (2 depth, 4 attention head)', 1],
      ],
    )
    const rows = toTableRows(groups)
    assert.equal(rows[0].n, 3)
    assert.deepEqual(rows[0].seeds, [0, 1, 2])
    assert.equal(rows[0].best_test_epoch, null)
    assert.equal(rows[0].run_dir, null)
    assert.equal(rows[0].run_dirs.length, 3)
    assert.equal(
      renderCsv(rows),
      [
        'Model,Top-1 Test Accuracy,Total Training Time (Minutes),Number of Parameters',
        // minutes: 2 epochs × 1500/1530/1470 s = 50.0, 51.0, 49.0
        `${ALT},0.8707 ± 0.0031 (n=3),50.0 ± 1.0 (n=3),1000`,
        '"VIT (2 depth, 4 attention head)",0.4000,1.00,1000',
        '',
      ].join('\n'),
    )
    const md = renderMarkdown(rows)
    assert.match(md, /\| 1 Block Alternating MM \(Conv \+ ViT\) \| 0\.8707 ± 0\.0031 \(n=3\) \| +50\.0 ± 1\.0 \(n=3\) \| +1000 \|/)
    assert.match(md, /mean ± sample standard deviation over its n complete runs, time likewise\./)
    const extended = renderExtendedCsv(rows, {base: dir}).split('\n')[1].split(',')
    const cell = (column: (typeof EXTENDED_COLUMNS)[number]) => extended[EXTENDED_COLUMNS.indexOf(column)]
    assert.equal(cell('run_dir'), 'a;b;c', 'run_dir lists the runs')
    assert.equal(cell('seeds'), '0;1;2', 'seeds')
    assert.ok(Math.abs(Number(cell('best_test_accuracy_std')) - 0.0030551) < 1e-6, 'unrounded std')
    assert.equal(cell('complete'), 'true')
  })

  it('counts only complete runs and names the others in the note', (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'a'), {name: 'alt', label: ALT, seed: 0, test: [0.8]})
    writeRun(join(dir, 'b'), {name: 'alt', label: ALT, seed: 1, test: [0.9]})
    writeRun(join(dir, 'c'), {name: 'alt', label: ALT, seed: 2, status: 'failed', epochs: 3, test: [0.99]})
    writeRun(join(dir, 'd'), {name: 'alt', label: ALT, seed: -1, status: 'interrupted', epochs: 3, test: [0.5, 0.6]})
    const rows = toTableRows(groupRuns(collectRuns([dir]).runs).groups)
    assert.equal(rows.length, 1)
    assert.equal(rows[0].n, 2)
    assert.equal(rows[0].complete, false)
    assert.ok(Math.abs((rows[0].best_test_accuracy ?? 0) - 0.85) < 1e-12)
    assert.match(renderMarkdown(rows), /\| 0\.8500 ± 0\.0707 \(n=2; seed -1 incomplete: 2\/3 epochs, interrupted; seed 2 incomplete: 1\/3 epochs, failed\) \|/)
    assert.match(renderCsv(rows), /,0\.8500 ± 0\.0707 \(n=2\),/)
    assert.equal(rows[0].status, 'completed/failed/interrupted', 'not "completed" while a seed failed; completed first, whatever the seeds\' order')
  })

  it('counts a run that early stopping ended before its last epoch as complete', (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'a'), {name: 'alt', label: ALT, seed: 1, epochs: 4, test: [0.1, 0.14], summary: {stopped_early: 'test_accuracy did not rise for 1 epoch (patience 1; best 0.14 after epoch 2)'}})
    writeRun(join(dir, 'b'), {name: 'alt', label: ALT, seed: 2, epochs: 4, test: [0.3, 0.42, 0.4, 0.41]})
    writeRun(join(dir, 'c'), {name: 'alt', label: ALT, seed: 3, epochs: 4, test: [0.2, 0.21, 0.2, 0.2]})
    const rows = toTableRows(groupRuns(collectRuns([dir]).runs).groups)
    assert.deepEqual([rows[0].n, rows[0].complete, rows[0].status], [3, true, 'completed'])
    assert.ok(Math.abs((rows[0].best_test_accuracy ?? 0) - (0.14 + 0.42 + 0.21) / 3) < 1e-12)
    assert.doesNotMatch(renderMarkdown(rows), /incomplete/)
  })

  it('keeps the note of a row of several runs none of which has an accuracy yet', (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'a'), {name: 'alt', label: ALT, seed: 0, status: 'running', epochs: 3, test: []})
    writeRun(join(dir, 'b'), {name: 'alt', label: ALT, seed: 1, status: 'running', epochs: 3, test: []})
    const rows = toTableRows(groupRuns(collectRuns([dir]).runs).groups)
    assert.match(renderMarkdown(rows), /\| — \(seed 0 incomplete: 0\/3 epochs, running; seed 1 incomplete: 0\/3 epochs, running\) \|/)
  })

  it('counts no training time for a run that trained no epoch: a row of such runs has empty cells, as for its accuracy', (t) => {
    const dir = tempDir(t)
    // `run --seeds 0,1` where both seeds failed in their first epoch: summary.json says 0 minutes and no accuracy.
    for (const seed of [0, 1]) writeRun(join(dir, `s${seed}`), {name: 'm', label: 'M', seed, status: 'failed', epochs: 2, test: []})
    assert.deepEqual(collectRuns([dir]).runs.map((r) => [r.bestTestAccuracy, r.trainMinutes]), [[null, null], [null, null]])
    let rows = toTableRows(groupRuns(collectRuns([dir]).runs).groups)
    assert.equal(renderCsv(rows).split('\n')[1], 'M,,,1000')
    assert.match(renderMarkdown(rows), /^\| M +\| — \(seed 0 incomplete: 0\/2 epochs, failed; seed 1 incomplete: 0\/2 epochs, failed\) \| +\| +1000 \|$/m)
    // Seed 1 trained an epoch before it failed: the row's numbers are over it alone, n=1.
    writeRun(join(dir, 's1'), {name: 'm', label: 'M', seed: 1, status: 'failed', epochs: 2, test: [0.5]})
    rows = toTableRows(groupRuns(collectRuns([dir]).runs).groups)
    assert.deepEqual([rows[0].n, rows[0].seeds], [1, [1]])
    assert.match(renderMarkdown(rows), /^\| M +\| 0\.5000 \(seed 0 incomplete: 0\/2 epochs, failed; seed 1 incomplete: 1\/2 epochs, failed\) \| +1\.00 \| +1000 \|$/m)
    // Both trained an epoch: over both, and the caption says that no run is complete.
    writeRun(join(dir, 's0'), {name: 'm', label: 'M', seed: 0, status: 'failed', epochs: 2, test: [0.3]})
    const md = renderMarkdown(toTableRows(groupRuns(collectRuns([dir]).runs).groups))
    assert.match(md, /^\| M +\| 0\.4000 ± 0\.1414 \(n=2; seed 0 incomplete: 1\/2 epochs, failed; seed 1 incomplete: 1\/2 epochs, failed\) \| +1\.00 ± 0\.00 \(n=2\) \| +1000 \|$/m)
    assert.match(md, /over its n complete runs, time likewise\. Where a model has no complete run, its cells are over its runs that trained an epoch, each named as incomplete after the accuracy\.$/m)
  })

  it('leaves the parameter count blank where the counted runs differ in it, the note listing each', (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'a'), {name: 'alt', label: ALT, seed: 0, test: [0.8], params: 1000})
    writeRun(join(dir, 'b'), {name: 'alt', label: ALT, seed: 1, test: [0.9], params: 1200})
    const [row] = toTableRows(groupRuns(collectRuns([dir]).runs).groups)
    assert.equal(row.params, null)
    assert.equal(row.status, 'completed')
    assert.equal(row.note, 'params differ: seed 0 1000, seed 1 1200')
    assert.match(renderMarkdown([row]), /\(n=2; params differ: seed 0 1000, seed 1 1200\) \| +1\.00 ± 0\.00 \(n=2\) \| +\|$/m)
    writeRun(join(dir, 'b'), {name: 'alt', label: ALT, seed: 1, test: [0.9], params: 1000})
    const [same] = toTableRows(groupRuns(collectRuns([dir]).runs).groups)
    assert.equal(same.params, 1000)
    assert.equal(same.note, undefined)
  })

  it('keeps one row per run with --per-seed, with a Seed column', (t) => {
    const dir = tempDir(t)
    // Folders in another order than the seeds (a seed run again later): rows by seed.
    writeRun(join(dir, 'a'), {name: 'alt', label: ALT, seed: 1, test: [0.9]})
    writeRun(join(dir, 'b'), {name: 'alt', label: ALT, seed: 0, test: [0.8]})
    const rows = toTableRows(groupRuns(collectRuns([dir]).runs, true).groups)
    assert.equal(
      renderCsv(rows, {perSeed: true}),
      ['Model,Seed,Top-1 Test Accuracy,Total Training Time (Minutes),Number of Parameters', `${ALT},0,0.8000,1.00,1000`, `${ALT},1,0.9000,1.00,1000`, ''].join('\n'),
    )
  })

  it('groups a seed sweep by point without its seed, pending points included', (t) => {
    const dir = tempDir(t)
    const points = []
    for (const lr of ['1e-3', '3e-4']) {
      for (const seed of [0, 1, 2]) {
        const key = `tiny,lr=${lr},seed=${seed}`
        const label = `Tiny [lr=${lr}, seed=${seed}]`
        if (!(lr === '3e-4' && seed === 2)) writeRun(join(dir, key), {name: 'tiny', label, seed, test: [0.5 + seed / 10 + (lr === '1e-3' ? 0.1 : 0)]})
        points.push({key, label, status: lr === '3e-4' && seed === 2 ? 'pending' : 'completed', run_dir: key, grid: {'train.optimizer.lr': lr, seed: String(seed)}})
      }
    }
    writeIndex(dir, {name: 'tiny-sweep', points})
    const rows = toTableRows(groupRuns(collectRuns([dir]).runs).groups)
    assert.deepEqual(
      rows.map((r) => [r.model, r.n, r.note ?? '']),
      [
        ['Tiny [lr=1e-3]', 3, ''],
        ['Tiny [lr=3e-4]', 2, 'seed 2 pending'],
      ],
    )
    assert.match(renderMarkdown(rows), /\| Tiny \[lr=1e-3\] \| +0\.7000 ± 0\.1000 \(n=3\) \|/)
  })

  it('says in the caption when runs used the per-batch mean or a validation-based selection', (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'a'), {name: 'a', label: 'A', test: [0.8]})
    writeRun(join(dir, 'b'), {name: 'b', label: 'B', test: [0.8], summary: {accuracy: 'batch_mean', selection: 'best_val'}})
    const rows = toTableRows(groupRuns(collectRuns([dir]).runs).groups)
    assert.deepEqual(
      rows.map((r) => [r.selection, r.accuracy_definition]),
      [
        ['best_test', 'per_example'],
        ['best_val', 'batch_mean'],
      ],
    )
    const md = renderMarkdown(rows)
    assert.match(md, /Top-1 is the highest test accuracy over all epochs \(the paper’s rule\) for A; the test accuracy at the epoch of highest validation accuracy for B\./)
    assert.match(md, /Accuracy is per example \(correct predictions \/ examples in the split\) for A; the mean of per-batch accuracies \(the paper’s code\) for B\./)
    const onlyB = renderMarkdown(rows.slice(1))
    assert.match(onlyB, /^\| Model \| Test Accuracy at Best Validation Epoch \| Best Test Accuracy over Epochs \|/)
  })

  it('a validation-selected model shows the test accuracy at its best validation epoch (mean ± std over seeds), the best test accuracy beside it', (t) => {
    const dir = tempDir(t)
    // best validation at epochs 2, 1 and 3: test 0.80, 0.70, 0.75 there; the best test accuracies are 0.85, 0.88, 0.75
    writeRun(join(dir, 'v0'), {name: 'm', label: 'M', seed: 0, test: [0.6, 0.8, 0.85], val: [0.5, 0.9, 0.7]})
    writeRun(join(dir, 'v1'), {name: 'm', label: 'M', seed: 1, test: [0.7, 0.88, 0.6], val: [0.95, 0.9, 0.6]})
    writeRun(join(dir, 'v2'), {name: 'm', label: 'M', seed: 2, test: [0.6, 0.7, 0.75], val: [0.5, 0.6, 0.7]})
    // the same model without a validation split: another rule, so another row, each label saying which
    writeRun(join(dir, 'p0'), {name: 'm', label: 'M', seed: 0, test: [0.6, 0.82]})
    const {groups, warnings} = groupRuns(collectRuns([dir]).runs)
    assert.deepEqual(warnings, [])
    const rows = toTableRows(groups)
    assert.deepEqual(rows.map((r) => [r.model, r.selection, r.n]), [['M [best_test]', 'best_test', 1], ['M [best_val]', 'best_val', 3]])
    const val = rows[1]
    assert.ok(Math.abs(val.test_accuracy_at_best_val! - 0.75) < 1e-12)
    assert.ok(Math.abs(val.test_accuracy_at_best_val_std! - 0.05) < 1e-12)
    assert.ok(Math.abs(val.best_test_accuracy! - (0.85 + 0.88 + 0.75) / 3) < 1e-12)
    assert.ok(Math.abs(val.best_val_accuracy! - (0.9 + 0.95 + 0.7) / 3) < 1e-12)
    assert.equal(val.best_val_epoch, null, 'an epoch only for one run')
    assert.equal(rows[0].test_accuracy_at_best_val, null)
    assert.deepEqual(renderCsv(rows).trim().split('\n'), [
      'Model,Top-1 Test Accuracy,Best Test Accuracy over Epochs,Total Training Time (Minutes),Number of Parameters',
      'M [best_test],0.8200,0.8200,2.00,1000',
      'M [best_val],0.7500 ± 0.0500 (n=3),0.8267 ± 0.0681 (n=3),3.00 ± 0.00 (n=3),1000',
    ])
    const caption = tableCaption(rows)
    assert.match(caption, /^Top-1 is the highest test accuracy over all epochs \(the paper’s rule\) for M \[best_test\]; the test accuracy at the epoch of highest validation accuracy for M \[best_val\]\. The validation split is held out of the training images/)
    // the one-run facts, from summary.json or, where it lacks them, from metrics.csv
    const one = toTableRows(groupRuns(collectRuns([join(dir, 'v1')]).runs).groups)[0]
    assert.deepEqual([one.best_val_epoch, one.best_val_accuracy, one.test_accuracy_at_best_val], [1, 0.95, 0.7])
    writeRun(join(dir, 'bare'), {name: 'm', label: 'M', seed: 1, test: [0.7, 0.88, 0.6], val: [0.95, 0.9, 0.6], omit: ['selection', 'best_val_accuracy', 'best_val_epoch', 'test_accuracy_at_best_val']})
    const bare = collectRuns([join(dir, 'bare')]).runs[0]
    assert.deepEqual([bare.selection, bare.bestValEpoch, bare.bestValAccuracy, bare.testAccuracyAtBestVal], ['best_val', 1, 0.95, 0.7])
  })
})

describe('seed groups from real runs', () => {
  const tiny = TINY_CNN_SPEC

  it('makes one row of `sweep --set seed=0,1,2`, one of separate `run --seed N` runs, and one of `run --seeds 0,1,2`, the same as the sweep’s', async (t) => {
    const dir = tempDir(t)
    const spec = writeSpec(tiny, dir)
    const log = () => {}
    const sweep = await runSweep({file: spec, sets: ['seed=0,1,2'], outDir: join(dir, 'results'), log})
    assert.equal(sweep.completed, 3)
    const swept = await makeTable({paths: [sweep.dir], plot: false})
    assert.deepEqual(
      swept.rows.map((r) => [r.model, r.n, r.seeds]),
      [['Tiny CNN', 3, [0, 1, 2]]],
    )
    assert.match(swept.markdown, /\| Tiny CNN \| \d\.\d{4} ± \d\.\d{4} \(n=3\) \|/)

    for (const seed of [3, 4]) await runExperiment({spec, seed, outDir: join(dir, 'separate'), log})
    const separate = await makeTable({paths: [join(dir, 'separate')], plot: false, warn: (m) => assert.fail(m)})
    assert.deepEqual(
      separate.rows.map((r) => [r.model, r.n, r.seeds]),
      [['Tiny CNN', 2, [3, 4]]],
    )

    // `run --seeds 0,1,2`: the same runs as the sweep's points (same seed, same backend: same numbers), so the same row
    const seeded = await runSeeds({spec, seeds: [0, 1, 2], outDir: join(dir, 'seeds'), log})
    assert.equal(seeded.completed, 3)
    const table = await makeTable({paths: [join(dir, 'seeds')], plot: false, warn: (m) => assert.fail(m)})
    assert.deepEqual(table.rows.map((r) => [r.model, r.n, r.seeds]), [['Tiny CNN', 3, [0, 1, 2]]])
    assert.deepEqual(
      seeded.seeds.map((r) => r.summary?.best_test_accuracy),
      sweep.points.map((p) => p.best_test_accuracy),
    )
    assert.equal(table.rows[0].best_test_accuracy, swept.rows[0].best_test_accuracy)
    assert.equal(table.rows[0].best_test_accuracy_std, swept.rows[0].best_test_accuracy_std)
  })
})
