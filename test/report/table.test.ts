import assert from 'node:assert/strict'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {collectRuns} from '../../src/report/collect.js'
import {groupRuns} from '../../src/report/group.js'
import {findPaperRow, PAPER_TABLES} from '../../src/report/paper.js'
import {
  formatAccuracy,
  formatMinutes,
  formatParams,
  renderCsv,
  renderExtendedCsv,
  renderMarkdown,
  toTableRows,
} from '../../src/report/table.js'
import {SWEEP_FIXTURE, tempDir, writeIndex, writeRun} from './helpers.js'

describe('number formats', () => {
  it('prints accuracy with 4 decimals, rounding halves up', () => {
    assert.equal(formatAccuracy(0.786), '0.7860')
    assert.equal(formatAccuracy(0.7797), '0.7797')
    assert.equal(formatAccuracy(0.62345), '0.6235')
    assert.equal(formatAccuracy(0.599875), '0.5999')
    assert.equal(formatAccuracy(1), '1.0000')
    assert.equal(formatAccuracy(null), '')
  })

  it('prints minutes with 1 decimal from 10 up and 2 below', () => {
    assert.equal(formatMinutes(49.6), '49.6')
    assert.equal(formatMinutes(535.94), '535.9')
    assert.equal(formatMinutes(10.01), '10.0')
    assert.equal(formatMinutes(4.6), '4.60')
    assert.equal(formatMinutes(0.683333), '0.68')
    assert.equal(formatMinutes(null), '')
  })

  it('prints parameters as plain integers', () => {
    assert.equal(formatParams(19385460), '19385460')
    assert.equal(formatParams(null), '')
  })
})

describe('tables from the CIFAR-10 sweep fixture', () => {
  const rows = toTableRows(groupRuns(collectRuns([SWEEP_FIXTURE]).runs).groups)

  it('writes table.csv with the paper columns and bare numbers', () => {
    assert.equal(
      renderCsv(rows),
      [
        'Model,Top-1 Test Accuracy,Total Training Time (Minutes),Number of Parameters',
        '"VIT (2 depth, 4 attention head)",0.4033,3.04,10791946',
        '1 Block Alternating MM (Conv + ViT),0.6235,10.0,4719167',
        '1 Block Joint MM (Conv + ViT),0.5000,0.68,9708095',
        'Resnet 18 (Baseline),,,',
        '',
      ].join('\n'),
    )
  })

  it('writes table.md with incomplete and pending rows marked', () => {
    assert.equal(
      renderMarkdown(rows),
      [
        '| Model                               |                     Top-1 Test Accuracy | Total Training Time (Minutes) | Number of Parameters |',
        '| ----------------------------------- | --------------------------------------: | ----------------------------: | -------------------: |',
        '| VIT (2 depth, 4 attention head)     |                                  0.4033 |                          3.04 |             10791946 |',
        '| 1 Block Alternating MM (Conv + ViT) |                                  0.6235 |                          10.0 |              4719167 |',
        '| 1 Block Joint MM (Conv + ViT)       | 0.5000 (incomplete: 2/3 epochs, failed) |                          0.68 |              9708095 |',
        '| Resnet 18 (Baseline)                |                             — (pending) |                               |                      |',
        '',
        'Top-1 is the highest test accuracy over all epochs (the paper’s rule). Accuracy is per example (correct predictions / examples in the split). ' +
          'Training time is the training loop’s wall time summed over epochs (data loading included, evaluation excluded).',
        '',
      ].join('\n'),
    )
  })

  it('writes table-extended.csv with status, epochs, seed, backend and run folder', () => {
    const lines = renderExtendedCsv(rows, {base: SWEEP_FIXTURE}).trimEnd().split('\n')
    assert.equal(
      lines[0],
      'model,dataset,status,complete,epochs_completed,epochs,best_test_accuracy,best_test_epoch,best_train_accuracy,final_test_accuracy,' +
        'train_minutes,eval_minutes,params,seed,backend,name,run_dir,started,finished,error,' +
        'n,seeds,best_test_accuracy_std,train_minutes_std,selection,accuracy_definition,' +
        'best_val_accuracy,best_val_epoch,test_accuracy_at_best_val,test_accuracy_at_best_val_std,best_raw_test_accuracy,best_raw_test_accuracy_std,note',
    )
    assert.equal(
      lines[3],
      '1 Block Joint MM (Conv + ViT),cifar10,failed,false,2,3,0.5,2,0.5,0.5,0.683333,0.116667,9708095,42,cpu,cifar10-joint-1block,' +
        'cifar10-joint-1block/20250101-002000-0a1b2c,2025-01-01T00:00:00.000Z,,out of memory,1,42,,,best_test,per_example,,,,,,,"incomplete: 2/3 epochs, failed"',
    )
    assert.equal(lines[4], 'Resnet 18 (Baseline),cifar10,pending,false,0,,,,,,,,,,,resnet18,,,,,0,,,,best_test,per_example,,,,,,,pending')
  })

  it("adds the paper's values in separate columns, verbatim, without replacing measured ones", () => {
    const compared = toTableRows(groupRuns(collectRuns([SWEEP_FIXTURE]).runs).groups, true)
    const csv = renderCsv(compared, {comparePaper: true}).split('\n')
    assert.equal(
      csv[0],
      'Model,Top-1 Test Accuracy,Total Training Time (Minutes),Number of Parameters,' +
        'Paper Top-1 Test Accuracy,Paper Total Training Time (Minutes),Paper Figure',
    )
    assert.equal(csv[1], '"VIT (2 depth, 4 attention head)",0.4033,3.04,10791946,0.5834,72.1,Figure 8')
    assert.equal(csv[4], 'Resnet 18 (Baseline),,,,0.7915,35.8,Figure 8')
    const md = renderMarkdown(compared, {comparePaper: true})
    assert.match(md, /Figure 8 \(CIFAR-10 Results Table\); they were not measured here\./)
    assert.deepEqual(compared[1].paper, {
      figure: 8,
      title: 'CIFAR-10 Results Table',
      label: '1 Block Alternating MM (Conv + ViT)',
      accuracy: 0.7797,
      minutes: 49.6,
      params: 4719167,
    })
    assert.equal(compared[1].best_test_accuracy, 0.62345)
  })

  it('adds a Dataset column when the rows span several datasets', (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'a'), {name: 'c100-alt', label: '1 Block Alternating MM (Conv + ViT)', dataset: 'cifar100', test: [0.2, 0.25]})
    writeRun(join(dir, 'b'), {name: 'c10-alt', label: '1 Block Alternating MM (Conv + ViT)', dataset: 'cifar10', test: [0.5, 0.6]})
    const mixed = toTableRows(groupRuns(collectRuns([dir]).runs).groups)
    assert.equal(
      renderCsv(mixed),
      'Dataset,Model,Top-1 Test Accuracy,Total Training Time (Minutes),Number of Parameters\n' +
        'CIFAR-10,1 Block Alternating MM (Conv + ViT),0.6000,2.00,1000\n' +
        'CIFAR-100,1 Block Alternating MM (Conv + ViT),0.2500,2.00,1000\n',
    )
  })

  it('escapes pipes in Markdown cells', (t) => {
    const dir = tempDir(t)
    writeRun(dir, {name: 'x', label: 'A | B', test: [0.5]})
    assert.match(renderMarkdown(toTableRows(groupRuns(collectRuns([dir]).runs).groups)), /\| A \\\| B \| +0\.5000 \|/)
  })

  it('shows HTML and entities in a label as written, not as markup (CommonMark backslash escapes)', (t) => {
    const dir = tempDir(t)
    writeRun(dir, {name: 'x', label: '<img src=x onerror=alert(1)> R&D &lt;b&gt;', test: [0.5]})
    const md = renderMarkdown(toTableRows(groupRuns(collectRuns([dir]).runs).groups))
    assert.ok(md.includes('| \\<img src=x onerror=alert(1)> R&D \\&lt;b\\&gt; |'), md)
  })
})

describe('table-extended.csv columns of sweep grid keys', () => {
  it('holds each grid key of the sweeps in a column after the model and dataset, the row’s value in it, and leaves table.csv as it is', (t) => {
    const dir = tempDir(t)
    const points = []
    for (const lr of ['1e-3', '3e-4']) {
      for (const seed of [0, 1]) {
        const key = `tiny,train.optimizer.lr=${lr},seed=${seed}`
        writeRun(join(dir, 'sweep', key), {name: 'tiny', label: `Tiny [lr=${lr}, seed=${seed}]`, seed, test: [0.5 + seed / 10]})
        points.push({key, label: `Tiny [lr=${lr}, seed=${seed}]`, status: 'completed', run_dir: key, grid: {'train.optimizer.lr': lr, seed: String(seed)}})
      }
    }
    writeIndex(join(dir, 'sweep'), {name: 'lr', points})
    writeRun(join(dir, 'other'), {name: 'other', label: 'Other', seed: 0, test: [0.4]})
    const rows = toTableRows(groupRuns(collectRuns([join(dir, 'sweep'), join(dir, 'other')]).runs).groups)
    const lines = renderExtendedCsv(rows, {base: dir}).trimEnd().split('\n')
    assert.match(lines[0], /^model,dataset,train\.optimizer\.lr,status,complete,epochs_completed,/)
    assert.equal(lines[0].split(',').filter((c) => c === 'seed').length, 1, 'the seed axis is the seed and seeds columns')
    assert.deepEqual(lines.slice(1).map((l) => l.split(',').slice(0, 4).join(',')), ['Tiny [lr=1e-3],cifar10,1e-3,completed', 'Tiny [lr=3e-4],cifar10,3e-4,completed', 'Other,cifar10,,completed'])
    assert.deepEqual(rows[0].grid, {'train.optimizer.lr': '1e-3', seed: null}, 'a row over seeds: the value they share, null where they differ')
    assert.equal(rows[2].grid, undefined)
    assert.equal(renderCsv(rows).split('\n')[0], 'Model,Top-1 Test Accuracy,Total Training Time (Minutes),Number of Parameters')
    const perSeed = renderExtendedCsv(toTableRows(groupRuns(collectRuns([join(dir, 'sweep')]).runs, true).groups)).split('\n')
    assert.equal(perSeed[0].split(',').filter((c) => c === 'seed').length, 1)
    assert.match(perSeed[2], /^Tiny \[lr=1e-3\],cifar10,1e-3,completed,/)
  })
})

describe('published results', () => {
  it('matches labels regardless of case, hyphens and a trailing detail', () => {
    assert.equal(findPaperRow('cifar10', 'ResNet 18 (Baseline)')?.row.accuracy, 0.7915)
    assert.equal(findPaperRow('CIFAR-100', 'VIT (2 depth, 4 attention head)')?.row.params, 10884196)
    assert.equal(findPaperRow('stl10', 'Resnet-18', 96)?.row.label, 'ResNet-18')
    assert.equal(findPaperRow('stl10', 'Perceiver (32 × 32 latents, depth 4, cross_heads 2)', 96)?.row.accuracy, 0.431)
    assert.equal(findPaperRow('stl10', 'Perceiver Baseline (64 latents × 64, depth 4)')?.table.figure, 3)
    assert.equal(findPaperRow('stl10', '2 Block Joint MM (Conv + ViT)')?.row.minutes, 19.88)
    assert.equal(findPaperRow('stl10', '2 Block Joint MM (Conv + ViT)', 96), undefined)
    assert.equal(findPaperRow('cifar100', '2 Block Alternating MM (Conv + ViT)'), undefined)
    // CIFAR-100's 20 superclasses are another task than the paper's 100 classes.
    assert.equal(findPaperRow('CIFAR-100', 'VIT (2 depth, 4 attention head)', 32, 'fine')?.row.params, 10884196)
    assert.equal(findPaperRow('CIFAR-100', 'VIT (2 depth, 4 attention head)', 32, 'coarse'), undefined)
    assert.equal(findPaperRow('cifar10', 'Joint (1 Block)'), undefined)
  })

  it('holds the four tables with the published parameter counts', () => {
    assert.deepEqual(
      PAPER_TABLES.map((t) => [t.figure, t.rows.length]),
      [
        [8, 6],
        [9, 4],
        [2, 6],
        [3, 8],
      ],
    )
    assert.deepEqual(
      PAPER_TABLES[1].rows.map((r) => r.params),
      [4995737, 9984665, 11689512, 10884196],
    )
    assert.equal(PAPER_TABLES[3].rows.at(-1)?.minutes, null)
  })
})
