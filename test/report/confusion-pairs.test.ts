// confusion-pairs.csv, the nonzero cells an evaluation of more than DENSE_MAX_CLASSES classes writes,
// and the summary the report shows of a matrix too large for a heatmap.
import assert from 'node:assert/strict'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {confusionSummary, parseConfusionPairsCsv, readConfusionMatrices, renderConfusionPairsCsv, showsHeatmap} from '../../src/report/confusion.js'
import {tempDir} from './helpers.js'

describe('confusion-pairs.csv', () => {
  it('is written by class name and read back; a bad file says what is wrong', () => {
    const text = renderConfusionPairsCsv(['a', 'b, c', 'd'], [[0, 0, 3], [1, 2, 1]])
    assert.equal(text, 'true,predicted,count\na,a,3\n"b, c",d,1\n')
    assert.deepEqual(parseConfusionPairsCsv(text), [
      {true: 'a', predicted: 'a', count: 3},
      {true: 'b, c', predicted: 'd', count: 1},
    ])
    assert.throws(() => parseConfusionPairsCsv('true\\predicted,a\na,1\n'), /its header must be true,predicted,count/)
    assert.throws(() => parseConfusionPairsCsv('true,predicted,count\na,b\n'), /line 2 has 2 cells where there are 3/)
    assert.throws(() => parseConfusionPairsCsv('true,predicted,count\na,b,1.5\n'), /line 2: "1\.5" is not a count/)
  })

  it('the report reads it with the classes of per-class.csv beside it, else the names it holds', (t) => {
    const run = tempDir(t)
    for (const name of ['test-best', 'test-last']) {
      mkdirSync(join(run, 'eval', name), {recursive: true})
      writeFileSync(join(run, 'eval', name, 'confusion-pairs.csv'), 'true,predicted,count\nb,a,2\n')
    }
    writeFileSync(join(run, 'eval', 'test-best', 'per-class.csv'), 'class,index,examples,correct,accuracy\na,0,0,0,\nb,1,2,0,0\nc,2,0,0,\n')
    const [best, last] = readConfusionMatrices(run, (m) => assert.fail(m))
    assert.deepEqual([best.name, best.classes, best.counts, best.pairs], ['test-best', ['a', 'b', 'c'], [], [{true: 'b', predicted: 'a', count: 2}]])
    assert.deepEqual(last.classes, ['b', 'a'])
    assert.equal(showsHeatmap(best), false)
    assert.equal(showsHeatmap({name: 'x', file: 'x', classes: Array.from({length: 100}, String), counts: []}), true)
    assert.equal(showsHeatmap({name: 'x', file: 'x', classes: Array.from({length: 101}, String), counts: []}), false)
  })
})

describe('confusionSummary', () => {
  it('orders the worst classes by accuracy, then examples, then class; the confusions by count, then class', () => {
    const classes = ['a', 'b', 'c', 'd']
    // a: 2 of 2 right; b: 1 of 2; c: 1 of 4 (3 as d); d: 0 of 1 (as b)
    const counts = [
      [2, 0, 0, 0],
      [1, 1, 0, 0],
      [0, 0, 1, 3],
      [0, 1, 0, 0],
    ]
    const dense = confusionSummary({name: 'x', file: 'x', classes, counts}, 3)
    assert.deepEqual(dense, {
      classes: 4,
      accuracy: 4 / 9,
      examples: 9,
      worst: [
        {class: 'd', examples: 1, correct: 0, accuracy: 0},
        {class: 'c', examples: 4, correct: 1, accuracy: 0.25},
        {class: 'b', examples: 2, correct: 1, accuracy: 0.5},
      ],
      confusions: [
        {true: 'c', predicted: 'd', count: 3, share: 0.75},
        {true: 'b', predicted: 'a', count: 1, share: 0.5},
        {true: 'd', predicted: 'b', count: 1, share: 1},
      ],
    })
    const pairs = counts.flatMap((row, i) => row.flatMap((count, j) => (count > 0 ? [{true: classes[i], predicted: classes[j], count}] : [])))
    assert.deepEqual(confusionSummary({name: 'x', file: 'x', classes, counts: [], pairs: [...pairs].reverse()}, 3), dense)
  })
})
