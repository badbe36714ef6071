// train.ema through a run: the test and validation columns score the weights' moving average (the raw_test
// columns the trained weights), best.ckpt
// holds it and last.ckpt holds it beside the trained weights; eval, predict, export and init_from take
// it (eval equals training's row for best and last); decay 0 gives exactly the numbers of a run without it (the
// swap leaves training untouched); --resume continues the average bit for bit.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {copyFileSync, readFileSync, rmSync} from 'node:fs'
import sharp from 'sharp'
import {join} from 'node:path'
import {readCheckpoint} from '../../src/run/checkpoint.js'
import {planInit} from '../../src/run/fine-tune.js'
import {buildModel} from '../../src/model/build.js'
import {mixture, REPO, resolveObject, tempDir, writeSpec} from '../helpers.js'
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
  // The trained weights are scored too (timm's two evaluations): their columns are the test columns of the run without the average.
  const [raw] = readFileSync(join(runDir, 'metrics.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(12, 14).join(','))
  assert.equal(raw, plain[0].split(',').slice(3, 5).join(','))
  assert.match(readFileSync(join(runDir, 'run.log'), 'utf8'), /test loss [\d.]+ acc [\d.]+ \(trained weights: loss [\d.]+ acc [\d.]+\)/)
  // summary.json, the table and its caption carry the trained weights' best beside the average's.
  const rawAccuracy = Number(raw.split(',')[1])
  assert.equal(JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')).best_raw_test_accuracy, rawAccuracy)
  const table = mixture(['table', runDir, '--format', 'md', '--out', join(runDir, '..', 'table')])
  assert.equal(table.code, 0, table.stderr)
  const md = readFileSync(join(runDir, '..', 'table', 'table.md'), 'utf8')
  assert.match(md, /\| Best Test Accuracy of the Trained Weights \|/)
  assert.equal(md.split('\n')[2].split('|')[3].trim(), rawAccuracy.toFixed(4), md)
  assert.match(md, /Rows with an average of the weights \(train\.ema\) score the average/)
  // train.init_from takes the weights the run evaluated: the average, from last.ckpt too.
  const {model} = buildModel(resolveObject(spec(1)))
  for (const {weight, values} of planInit(model, {path: join(runDir, 'last.ckpt'), skip: [], strict: true}).load) assert.deepEqual([...values], [...last.average!.get(weight.originalName)!])
  // weights: trained takes the trained weights (timm's --initial-checkpoint): from last.ckpt, or the folder's last.ckpt; best.ckpt has none.
  for (const path of [join(runDir, 'last.ckpt'), runDir]) {
    const plan = planInit(model, {path, skip: [], strict: true, weights: 'trained'})
    for (const {weight, values} of plan.load) assert.deepEqual([...values], [...last.weights.get(weight.originalName)!])
    assert.match(plan.line, /\(last, epoch 1, the trained weights\)/)
    assert.equal(plan.record.weights, 'trained')
  }
  assert.throws(() => planInit(model, {path: join(runDir, 'best.ckpt'), skip: [], strict: true, weights: 'trained'}), /best checkpoint of a run with train\.ema, which holds the weights' moving average only: its trained weights are in .*last\.ckpt/)
  model.dispose()
  for (const checkpoint of ['best', 'last']) {
    const r = mixture(['eval', runDir, '--ckpt', checkpoint, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const report = JSON.parse(r.stdout)
    assert.equal(report.training.equal, true, `${checkpoint}: ${JSON.stringify(report.training)}`)
    assert.deepEqual([report.weights, report.moving_average], ['average', true])
  }
  // --weights trained (last.ckpt, --ckpt left out): the trained weights, equal to the raw_test columns training wrote.
  const trained = mixture(['eval', runDir, '--weights', 'trained'])
  assert.equal(trained.code, 0, trained.stderr)
  assert.match(trained.stdout, /test split, last\.ckpt \(epoch 1, trained weights\).*\nequal to what training wrote for epoch 1 \(raw_test_loss /)
  assert.match(trained.stdout, new RegExp(`written to ${join(runDir, 'eval', 'test-last-trained').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
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

/** Every float32 value of a safetensors file's tensors, sorted: the weights whatever their names and layouts. */
function exportedValues(file: string): number[] {
  const bytes = readFileSync(file)
  const headerBytes = Number(bytes.readBigUInt64LE(0))
  const header = JSON.parse(bytes.subarray(8, 8 + headerBytes).toString('utf8')) as Record<string, {dtype: string; data_offsets: [number, number]}>
  const data = bytes.subarray(8 + headerBytes)
  const values: number[] = []
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__' || t.dtype !== 'F32') continue
    const slice = data.subarray(t.data_offsets[0], t.data_offsets[1])
    values.push(...new Float32Array(slice.buffer.slice(slice.byteOffset, slice.byteOffset + slice.byteLength)))
  }
  return values.sort((a, b) => a - b)
}

const sortedValues = (weights: Map<string, Float32Array>) => [...weights.values()].flatMap((v) => [...v]).sort((a, b) => a - b)

test('--weights trained: export and predict take last.ckpt\'s trained weights (last by default), in a folder of their own; best.ckpt has none, and says where they are', {timeout: 120_000}, async () => {
  const runDir = run(spec(1, {decay: 0.9}))
  const last = readCheckpoint(join(runDir, 'last.ckpt'))
  const exported = (args: string[]) => {
    const r = mixture(['export', runDir, '--format', 'safetensors', ...args, '--json'])
    assert.equal(r.code, 0, r.stderr)
    return JSON.parse(r.stdout) as {out_dir: string; checkpoint: string; weights: string}
  }
  const trained = exported(['--weights', 'trained'])
  assert.deepEqual([trained.checkpoint, trained.weights, trained.out_dir], ['last', 'trained', join(runDir, 'export', 'safetensors-last-trained')])
  assert.deepEqual(exportedValues(join(trained.out_dir, 'model.safetensors')), sortedValues(last.weights))
  const average = exported(['--ckpt', 'last'])
  assert.deepEqual([average.weights, average.out_dir], ['average', join(runDir, 'export', 'safetensors-last')])
  assert.deepEqual(exportedValues(join(average.out_dir, 'model.safetensors')), sortedValues(last.average!))
  // predict: the two weights give other logits; the default is the average's.
  const image = join(tempDir('mixture-ema-img-'), 'x.png')
  await sharp(Buffer.alloc(8 * 8 * 3, 100), {raw: {width: 8, height: 8, channels: 3}}).png().toFile(image)
  const logits = (args: string[]) => {
    const r = mixture(['predict', runDir, image, ...args, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as {weights: string; predictions: {logits: number[]}[]}
    return {weights: out.weights, logits: out.predictions[0].logits.join()}
  }
  const p = logits(['--weights', 'trained'])
  assert.equal(p.weights, 'trained')
  assert.notEqual(p.logits, logits(['--ckpt', 'last']).logits)
  const refused = mixture(['predict', runDir, image, '--ckpt', 'best', '--weights', 'trained'])
  assert.equal(refused.code, 2)
  assert.match(refused.stderr, /best\.ckpt holds the weights' moving average only .*: those are in the run's last\.ckpt: leave out --ckpt, or give --ckpt last/)
})

test('--resume --from-best on a run with train.ema says that it restarts from the average (best.ckpt holds it), and the average restarts from it', {timeout: 120_000}, () => {
  const runDir = run(spec(1, {decay: 0.9}))
  const r = mixture(['run', '--resume', runDir, '--from-best', '--epochs', '2'])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout + r.stderr, /restarting from best\.ckpt after epoch 1: the weights' moving average restored as the weights \(best\.ckpt holds the average that was evaluated, not the trained weights\), and the average starts again from it/)
})

test('--weights trained: a run without train.ema has its trained weights in best.ckpt (taken, no note); a damaged or replaced last.ckpt of a train.ema run says what to use', {timeout: 120_000}, () => {
  const plain = run(spec(1))
  const r = mixture(['eval', plain, '--weights', 'trained', '--json'])
  assert.equal(r.code, 0, r.stderr)
  const report = JSON.parse(r.stdout)
  assert.deepEqual([report.checkpoint, report.weights, report.moving_average], ['best', 'trained', false])
  assert.doesNotMatch(r.stderr, /note:/)
  const averaged = run(spec(1, {decay: 0.9}))
  // A best checkpoint put in last.ckpt's place: it has no trained weights, and the message says which file is not what it should be.
  copyFileSync(join(averaged, 'best.ckpt'), join(averaged, 'last.ckpt'))
  const replaced = mixture(['eval', averaged, '--weights', 'trained'])
  assert.equal(replaced.code, 2)
  assert.match(replaced.stderr, /last\.ckpt holds the weights' moving average only .*: those are in the run's last\.ckpt, and this file is not one/)
  rmSync(join(averaged, 'last.ckpt'))
  const missing = mixture(['predict', averaged, join(REPO, 'README.md'), '--weights', 'trained'])
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /has no last\.ckpt, the one checkpoint that keeps a train\.ema run's trained weights \(best\.ckpt holds the average only\): use --weights average for the average, or train the run further/)
})
