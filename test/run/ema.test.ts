// train.ema through a run: the test and validation columns score the weights' moving average, best.ckpt
// holds it and last.ckpt holds it beside the trained weights; eval, predict, export and init_from take
// it (eval equals training's row for best and last); decay 0 gives exactly the numbers of a run without it (the
// swap leaves training untouched); --resume continues the average bit for bit.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {readCheckpoint} from '../../src/run/checkpoint.js'
import {planInit} from '../../src/run/fine-tune.js'
import {buildModel} from '../../src/model/build.js'
import {mixture, resolveObject, tempDir, writeSpec} from '../helpers.js'
import {numbers, referenceNumbers, TINY_SPEC} from '../faults/helpers.js'

const spec = (epochs: number, ema?: Record<string, unknown>) => {
  const base = TINY_SPEC(epochs, {engine: {backend: 'cpu'}})
  return {...base, train: {...(base.train as object), ...(ema ? {ema} : {})}}
}

function run(s: Record<string, unknown>): string {
  const dir = tempDir('mixture-ema-')
  const r = mixture(['run', writeSpec(s, dir), '--out', join(dir, 'results')])
  assert.equal(r.code, 0, r.stderr)
  return /run folder: (.*)/.exec(r.stdout)![1].trim()
}

test('decay 0: the average is the weights, so the run gives exactly the numbers of a run without it', {timeout: 120_000}, () => {
  assert.deepEqual(numbers(run(spec(2, {decay: 0}))), referenceNumbers(spec(2), 'mixture-ema-plain-'))
})

test('best.ckpt holds the average, last.ckpt both; eval scores the average and equals training; the test columns differ from a run without it', {timeout: 120_000}, () => {
  const runDir = run(spec(1, {decay: 0.9}))
  const last = readCheckpoint(join(runDir, 'last.ckpt'))
  const best = readCheckpoint(join(runDir, 'best.ckpt'))
  assert.ok(last.average, 'last.ckpt has an ema group')
  assert.equal(best.average, undefined)
  for (const [name, v] of best.weights) assert.deepEqual([...v], [...last.average!.get(name)!], `${name}: best.ckpt is the average after epoch 1`)
  assert.ok([...last.weights].some(([name, v]) => [...v].join() !== [...last.average!.get(name)!].join()), 'the trained weights differ from the average')
  const rows = numbers(runDir)
  const plain = referenceNumbers(spec(1), 'mixture-ema-ref-')
  assert.equal(rows[0].split(',').slice(1, 3).join(), plain[0].split(',').slice(1, 3).join(), 'the train columns are the trained weights\'')
  assert.notEqual(rows[0].split(',')[3], plain[0].split(',')[3], 'the test loss is the average\'s')
  // train.init_from takes the weights the run evaluated: the average, from last.ckpt too.
  const {model} = buildModel(resolveObject(spec(1)))
  for (const {weight, values} of planInit(model, {path: join(runDir, 'last.ckpt'), skip: [], strict: true}).load) assert.deepEqual([...values], [...last.average!.get(weight.originalName)!])
  model.dispose()
  for (const checkpoint of ['best', 'last']) {
    const r = mixture(['eval', runDir, '--ckpt', checkpoint, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const report = JSON.parse(r.stdout)
    assert.equal(report.training.equal, true, `${checkpoint}: ${JSON.stringify(report.training)}`)
  }
})

/** `ema` trained 3 epochs straight and 1 epoch resumed to 3: both folders, checked to hold the same numbers and the same average. */
function straightAndResumed(ema: Record<string, unknown>): {straight: string; resumed: string} {
  const straight = run(spec(3, ema))
  const resumed = run(spec(1, ema))
  const r = mixture(['run', '--resume', resumed, '--epochs', '3'])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(numbers(resumed), numbers(straight))
  const a = readCheckpoint(join(straight, 'last.ckpt'))
  const b = readCheckpoint(join(resumed, 'last.ckpt'))
  for (const [name, v] of a.average!) assert.deepEqual([...b.average!.get(name)!], [...v], name)
  return {straight, resumed}
}

test('--resume continues the average: 1 epoch + resume to 3 gives the numbers and the average of 3 uninterrupted', {timeout: 120_000}, () => {
  const {resumed} = straightAndResumed({decay: 0.95})
  assert.match(readFileSync(join(resumed, 'config.yaml'), 'utf8'), /ema:\n\s+decay: 0.95/)
})

test('warmup: --resume continues the warming decay from the checkpoint\'s step count; config.yaml records it, a spec without it resolves as before', {timeout: 120_000}, () => {
  const {straight, resumed} = straightAndResumed({decay: 0.95, warmup: true})
  assert.match(readFileSync(join(resumed, 'config.yaml'), 'utf8'), /ema:\n\s+decay: 0.95\n\s+warmup: true/)
  // Six steps, all still warming (decay ≤ 0.70): the test columns differ from those of the average without warmup.
  assert.notDeepEqual(numbers(straight).map((l) => l.split(',')[3]), numbers(run(spec(3, {decay: 0.95}))).map((l) => l.split(',')[3]))
  assert.equal('warmup' in resolveObject(spec(1, {decay: 0.95})).train.ema!, false)
})
