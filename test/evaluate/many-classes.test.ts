// mixture eval past the limits of a dense confusion matrix (DENSE_MAX_CLASSES) and of a heatmap
// (HEATMAP_MAX_CLASSES): the metrics are always written, the matrix is counted and written sparse
// (its nonzero cells), no heatmap is drawn and the eval says so in one line, the tally's memory does
// not grow with classes², and the report of such a run stays small.
import {before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {cpSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {evaluateRun} from '../../src/evaluate/evaluate-run.js'
import {parse} from 'csv-parse/sync'
import {writeEvalFolder} from '../../src/evaluate/evaluate-outputs.js'
import {EvalTally} from '../../src/evaluate/tally.js'
import type {EvalResult} from '../../src/evaluate/types.js'
import {parseConfusionCsv, readConfusionMatrices} from '../../src/report/confusion.js'
import {makeReport} from '../../src/report/make-report.js'
import {runExperiment, type RunSummary} from '../../src/run/experiment.js'
import {mixture, tempDir, writeSpec} from '../helpers.js'

// The limits (src/evaluate/types.ts), written out so that the tests pin them.
const HEATMAP_MAX_CLASSES = 100
const DENSE_MAX_CLASSES = 256

const spec = {
  name: 'c1000',
  seed: 1,
  data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 32, test: 48, classes: 1000}},
  model: {type: 'cnn_classifier', channels: [3]},
  train: {epochs: 1, batch_size: 16},
  engine: {backend: 'cpu'},
}

describe('mixture eval of a 1,000-class run', () => {
  let run: string

  before(async () => {
    const dir = tempDir()
    run = ((await runExperiment({spec: writeSpec(spec, dir), outDir: join(dir, 'results'), log: () => {}})) as RunSummary).run_dir
  })

  it('writes the metrics and the nonzero (true, predicted) pairs, no dense matrix and no heatmap', async () => {
    const r = await evaluateRun({run})
    assert.equal(r.examples, 48)
    assert.equal(r.classes.length, 1000)
    assert.equal(r.per_class.length, 1000)
    assert.ok(Number.isFinite(r.loss) && r.top_k === 5)
    assert.deepEqual(r.confusion, [])
    const pairs = r.confusion_pairs as [number, number, number][]
    // Ordered by true then predicted class; every count positive; they add up to the examples and agree with the accuracy and per-class rows.
    const keys = pairs.map(([t, p]) => t * 1000 + p)
    assert.deepEqual(keys, [...keys].sort((a, b) => a - b))
    assert.ok(pairs.every(([, , c]) => c > 0))
    assert.equal(pairs.reduce((a, [, , c]) => a + c, 0) + r.predicted_outside_classes, 48)
    assert.equal(pairs.filter(([t, p]) => t === p).reduce((a, [, , c]) => a + c, 0) / 48, r.accuracy_per_example)
    r.per_class.forEach((c, i) => {
      const row = pairs.filter(([t]) => t === i)
      assert.equal(c.examples, row.reduce((a, [, , n]) => a + n, 0))
      assert.equal(c.correct, row.find(([, p]) => p === i)?.[2] ?? 0)
    })

    const out = r.out_dir
    assert.deepEqual(readdirSync(out).sort(), ['confusion-pairs.csv', 'metrics.json', 'per-class.csv'])
    assert.deepEqual(r.files.map((f) => f.slice(out.length + 1)).sort(), ['confusion-pairs.csv', 'metrics.json', 'per-class.csv'])
    const csv = readFileSync(join(out, 'confusion-pairs.csv'), 'utf8')
    assert.equal(csv.split('\n')[0], 'true,predicted,count')
    assert.deepEqual(
      parse(csv, {columns: true}),
      pairs.map(([t, p, count]) => ({true: r.classes[t], predicted: r.classes[p], count: String(count)})),
    )
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'))
    assert.deepEqual(metrics.confusion_pairs, pairs)
    assert.equal(metrics.per_class.length, 1000)
    assert.equal(readFileSync(join(out, 'per-class.csv'), 'utf8').trim().split('\n').length, 1001)
  })

  it('the CLI says in one line why there is no heatmap and where the counts are', () => {
    const r = mixture(['eval', run])
    assert.equal(r.code, 0, r.stderr)
    const out = join(run, 'eval', 'test-best')
    assert.ok(
      r.stdout.split('\n').includes(`no heatmap: 1000 classes are more than the ${HEATMAP_MAX_CLASSES} one shows legibly; the counts are in ${join(out, 'confusion-pairs.csv')} (its nonzero cells: true,predicted,count)`),
      r.stdout,
    )
  })

  it('the report of the run shows the worst classes and the most frequent confusions, and stays small', async () => {
    await evaluateRun({run})
    const [matrix] = readConfusionMatrices(run, (m) => assert.fail(m))
    assert.equal(matrix.classes.length, 1000)
    const dir = tempDir()
    const withEval = readFileSync((await makeReport({paths: [run], out: join(dir, 'with.html')})).file, 'utf8')
    // The same run without its evaluation: the page's own size (the chart libraries are most of it).
    const copy = join(dir, 'bare', 'run')
    cpSync(run, copy, {recursive: true})
    rmSync(join(copy, 'eval'), {recursive: true})
    const without = readFileSync((await makeReport({paths: [copy], out: join(dir, 'without.html')})).file, 'utf8')
    assert.ok(withEval.length - without.length < 20_000, `the confusion section is ${withEval.length - without.length} bytes`)
    assert.match(withEval, /No heatmap: 1,000 classes, more than the 100 a heatmap shows legibly; eval\/test-best\/confusion-pairs\.csv has every count\./)
    assert.equal((withEval.match(/<th>Class \(lowest accuracy\)<\/th>/g) ?? []).length, 1)
    assert.equal((withEval.match(/<th>True class<\/th>/g) ?? []).length, 1)
  })
})

describe('EvalTally past the dense limit', () => {
  it('a 65,536-class tally is built and counts in little memory and time (its nonzero cells only)', () => {
    // A dense matrix would be 65,536² = 4.3 billion cells.
    const classes = 65_536
    const start = performance.now()
    const heap = process.memoryUsage().heapUsed
    const t = new EvalTally(classes, classes)
    const logits = new Float32Array(3 * classes)
    logits[0 * classes + 65_535] = 1 // true 7, predicted 65535
    logits[1 * classes + 7] = 1 // true 7, right
    logits[2 * classes + 300] = 1 // true 0, predicted 300
    t.add(logits, [7, 7, 0], 3)
    const r = t.result()
    assert.ok(process.memoryUsage().heapUsed - heap < 64 * 2 ** 20, 'memory grows with the classes, not classes²')
    assert.ok(performance.now() - start < 5_000)
    assert.deepEqual(r.confusion, [])
    assert.deepEqual(r.pairs, [
      [0, 300, 1],
      [7, 7, 1],
      [7, 65_535, 1],
    ])
    assert.equal(r.classExamples[7], 2)
    assert.equal(r.classCorrect[7], 1)
    assert.equal(r.classExamples.reduce((a, b) => a + b, 0), 3)
    assert.deepEqual(r.batchAccuracies, [1 / 3])
  })

  it('up to the limit the dense matrix is the pairs spread out', () => {
    const n = DENSE_MAX_CLASSES
    const t = new EvalTally(n, n)
    const logits = new Float32Array(2 * n)
    logits[n - 1] = 1
    logits[n + 5] = 1
    t.add(logits, [3, 5], 2)
    const r = t.result()
    assert.equal(r.confusion.length, n)
    assert.equal(r.confusion[3][n - 1], 1)
    assert.equal(r.confusion[5][5], 1)
    assert.equal(r.confusion.flat().reduce((a, b) => a + b, 0), 2)
    assert.deepEqual(r.pairs, [
      [3, n - 1, 1],
      [5, 5, 1],
    ])
  })
})

describe('the eval folder by class count', () => {
  /** An evaluation of `k` classes, every example of class i predicted as class (i + 1) mod k, except class 0's, predicted right. */
  const result = (k: number, outDir: string): EvalResult => {
    const classes = Array.from({length: k}, (_, i) => `c${i}`)
    const pairs: [number, number, number][] = classes.map((_, i) => [i, i === 0 ? 0 : (i + 1) % k, 2])
    const confusion = k <= DENSE_MAX_CLASSES ? classes.map((_, i) => classes.map((__, j) => (pairs[i][1] === j ? 2 : 0))) : []
    return {
      run_dir: outDir,
      checkpoint: 'best',
      weights: 'trained',
      moving_average: false,
      epoch: 1,
      split: 'test',
      examples: 2 * k,
      batch_size: 16,
      backend: 'cpu',
      loss: 1,
      accuracy_definition: 'per_example',
      accuracy: 1 / k,
      accuracy_per_example: 1 / k,
      accuracy_batch_mean: 1 / k,
      top_k: 5,
      top_k_accuracy: 5 / k,
      per_class: classes.map((c, i) => ({index: i, class: c, examples: 2, correct: i === 0 ? 2 : 0, accuracy: i === 0 ? 1 : 0})),
      classes,
      confusion,
      ...(k > DENSE_MAX_CLASSES ? {confusion_pairs: pairs} : {}),
      predicted_outside_classes: 0,
      training: null,
      data_dir: null,
      data_source: 'synthetic',
      out_dir: outDir,
      files: [],
    }
  }

  it('past 100 classes: the square confusion.csv, no heatmap; past 256: confusion-pairs.csv', async () => {
    const dir = tempDir()
    for (const [k, want] of [
      [HEATMAP_MAX_CLASSES, ['confusion.csv', 'confusion.png', 'confusion.svg', 'confusion.vl.json', 'metrics.json', 'per-class.csv']],
      [HEATMAP_MAX_CLASSES + 1, ['confusion.csv', 'metrics.json', 'per-class.csv']],
      [DENSE_MAX_CLASSES, ['confusion.csv', 'metrics.json', 'per-class.csv']],
      [DENSE_MAX_CLASSES + 1, ['confusion-pairs.csv', 'metrics.json', 'per-class.csv']],
    ] as const) {
      const r = result(k, join(dir, String(k), 'eval', 'test-best'))
      await writeEvalFolder(r, () => {})
      assert.deepEqual(readdirSync(r.out_dir).sort(), want, `${k} classes`)
      if (k <= DENSE_MAX_CLASSES) assert.deepEqual(parseConfusionCsv(readFileSync(join(r.out_dir, 'confusion.csv'), 'utf8')), {classes: r.classes, counts: r.confusion})
      else assert.equal(readFileSync(join(r.out_dir, 'confusion-pairs.csv'), 'utf8').split('\n').slice(0, 3).join('\n'), 'true,predicted,count\nc0,c0,2\nc1,c2,2')
    }
  })
})
