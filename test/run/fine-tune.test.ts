// Fine-tuning. `train.init_from`: a new run starts from another run's checkpoint. The weights it
// loads are the checkpoint's exactly; those `skip` names keep the seed's initialisation; a checkpoint
// that does not fit is refused before anything is written, saying which `skip` or `strict` fits it;
// the path is relative to the spec; env.json records what was loaded; a resumed fine-tuned run does
// not read the checkpoint again. `train.freeze`: the weights it names are not trained (their values
// at the end are those they started from), BatchNorm statistics still move, and resume keeps it.
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync, renameSync} from 'node:fs'
import {createHash} from 'node:crypto'
import {join, relative} from 'node:path'
import {buildModel} from '../../src/model/build.js'
import {readCheckpoint} from '../../src/run/checkpoint.js'
import {initFromCheckpoint, planInit} from '../../src/run/fine-tune.js'
import {SpecError} from '../../src/config/errors.js'
import {UsageError} from '../../src/errors.js'
import type {InitFromSpec} from '../../src/schema/spec.js'
import {mixture, resolveObject, tempDir, TINY_CNN_SPEC, writeSpec} from '../helpers.js'

const spec = (classes: number, extra: Record<string, unknown> = {}) => ({
  ...TINY_CNN_SPEC,
  data: {...TINY_CNN_SPEC.data, synthetic: {...TINY_CNN_SPEC.data.synthetic, classes}},
  ...extra,
})

/** A finished 1-epoch run of the tiny CNN with `classes` classes; its folder. */
function pretrained(classes = 3, channels = [3]): string {
  const dir = tempDir('mixture-init-')
  const r = mixture(['run', writeSpec(spec(classes, {model: {type: 'mixture', components: [{type: 'cnn', channels}]}}), dir), '--out', join(dir, 'results')])
  assert.equal(r.code, 0, r.stderr)
  return /run folder: (.*)/.exec(r.stdout)![1].trim()
}

const init = (path: string, more: Partial<InitFromSpec> = {}): InitFromSpec => ({path, skip: [], strict: true, ...more})

function valuesOf(model: ReturnType<typeof buildModel>['model']): Map<string, number[]> {
  return new Map(model.weights.map((w) => [w.originalName, [...(w.read().dataSync() as Float32Array)]]))
}

describe('train.init_from', () => {
  const source = pretrained(3)
  const ckpt = readCheckpoint(join(source, 'best.ckpt'))

  it('loads every weight (BatchNorm statistics too) exactly as the checkpoint holds it', () => {
    const {model} = buildModel(resolveObject(spec(3)))
    const fresh = valuesOf(model)
    const record = initFromCheckpoint(model, init(source), () => {})
    assert.equal(record.loaded, model.weights.length)
    assert.equal(record.file, join(source, 'best.ckpt'), 'a run folder means its best.ckpt')
    assert.equal(record.sha256, createHash('sha256').update(readFileSync(join(source, 'best.ckpt'))).digest('hex'))
    for (const w of model.weights) assert.deepEqual([...(w.read().dataSync() as Float32Array)], [...ckpt.weights.get(w.originalName)!], w.originalName)
    assert.ok(model.weights.some((w) => fresh.get(w.originalName)!.join() !== ckpt.weights.get(w.originalName)!.join()), 'training moved the weights away from the initialisation')
    assert.ok(model.weights.some((w) => w.originalName.endsWith('moving_mean')), 'the statistics are among them')
    model.dispose()
  })

  it('another number of classes: refused naming the head and the skip that fits; with skip the head keeps the seed\'s initialisation', () => {
    const {model} = buildModel(resolveObject(spec(5)))
    const fresh = valuesOf(model)
    assert.throws(
      () => planInit(model, init(source)),
      (e: Error) => e instanceof UsageError && /weights of another shape: head_fc\/kernel \[192, 3\] \(the model's: \[192, 5\]\), head_fc\/bias \[3\].*add skip: \[head_fc\]/s.test(e.message),
    )
    assert.deepEqual(valuesOf(model), fresh, 'nothing was written')
    const lines: string[] = []
    const record = initFromCheckpoint(model, init(source, {skip: ['head_fc']}), (m) => lines.push(m))
    assert.deepEqual(record.skipped, ['head_fc/kernel', 'head_fc/bias'])
    for (const w of model.weights) {
      const expected = w.originalName.startsWith('head_fc/') ? fresh.get(w.originalName)! : [...ckpt.weights.get(w.originalName)!]
      assert.deepEqual([...(w.read().dataSync() as Float32Array)], expected, w.originalName)
    }
    assert.match(lines.join('\n'), /init_from: \d+ of the model's \d+ weights from .*best\.ckpt \(best, epoch 1\); at their initialisation: head_fc\/kernel, head_fc\/bias/)
    model.dispose()
  })

  it('skip takes a weight or a pattern with *, and refuses a name that matches nothing, listing the layers', () => {
    const {model} = buildModel(resolveObject(spec(3)))
    assert.deepEqual(initFromCheckpoint(model, init(source, {skip: ['head_*/bias']}), () => {}).skipped, ['head_fc/bias'])
    assert.throws(() => planInit(model, init(source, {skip: ['head']})), /train\.init_from\.skip: "head" names no weight of this model; its layers are .*head_fc.*mixture params <spec> --weights/)
    model.dispose()
  })

  it('strict: false loads what matches by name and shape and names the rest; a checkpoint of another model entirely is refused', () => {
    const deeper = buildModel(resolveObject({...spec(3), model: {type: 'mixture', components: [{type: 'cnn', channels: [3, 3]}]}}))
    assert.throws(() => planInit(deeper.model, init(source)), /does not fit this model:\n {2}weights of the model it does not hold: block1_cnn_unit2_conv\/kernel, .*\n {2}\(strict: false loads/)
    const record = initFromCheckpoint(deeper.model, init(source, {strict: false}), () => {})
    assert.ok(record.not_in_checkpoint!.length > 0 && record.not_in_checkpoint!.every((n) => n.startsWith('block1_cnn_unit2_')), record.not_in_checkpoint!.join())
    assert.deepEqual(record.unused, [])
    assert.equal(record.loaded, deeper.model.weights.length - record.not_in_checkpoint!.length)
    deeper.model.dispose()
    const shallow = buildModel(resolveObject(spec(3)))
    const fromDeeper = pretrained(3, [3, 3])
    assert.throws(() => planInit(shallow.model, init(fromDeeper)), /weights it holds that the model does not: block1_cnn_unit2_/)
    assert.ok(initFromCheckpoint(shallow.model, init(fromDeeper, {strict: false}), () => {}).unused!.every((n) => n.startsWith('block1_cnn_unit2_')))
    shallow.model.dispose()
    const wider = buildModel(resolveObject({...spec(5), model: {type: 'mixture', components: [{type: 'cnn', channels: [4]}]}}))
    assert.throws(() => planInit(wider.model, init(source, {strict: false})), /no weight of .*best\.ckpt fits this model \(by name and shape\)/)
    wider.model.dispose()
  })

  it('a path alone is the shorthand, relative to the spec that writes it; a path that is not there is refused', () => {
    const dir = tempDir('mixture-init-spec-')
    const rel = relative(dir, source)
    const file = writeSpec({...spec(3), train: {...TINY_CNN_SPEC.train, init_from: rel}}, dir)
    const r = mixture(['validate', file, '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout).spec.train.init_from, {path: source, skip: [], strict: true})
    const missing = mixture(['validate', writeSpec({...spec(3), train: {...TINY_CNN_SPEC.train, init_from: {path: 'nowhere/run'}}}, dir, 'missing.yaml')])
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, new RegExp(`train\\.init_from: ${join(dir, 'nowhere/run').replace(/[/.]/g, '\\$&')} does not exist; give a checkpoint file \\(best\\.ckpt, last\\.ckpt\\) or a run folder`))
    assert.throws(() => resolveObject({...spec(3), train: {...TINY_CNN_SPEC.train, init_from: {path: source, freeze: true}}}), SpecError)
  })

  it('a run that does not fit exits 2 before its folder is made; one that fits records the checkpoint in env.json, and resumes without it', {timeout: 120_000}, () => {
    const dir = tempDir('mixture-init-run-')
    const out = join(dir, 'results')
    const misfit = mixture(['run', writeSpec({...spec(5), train: {...TINY_CNN_SPEC.train, init_from: source}}, dir, 'bad.yaml'), '--out', out])
    assert.equal(misfit.code, 2, misfit.stderr)
    assert.match(misfit.stderr, /add skip: \[head_fc\]/)
    assert.equal(existsSync(out), false, 'no run folder')
    const validate = mixture(['validate', join(dir, 'bad.yaml')])
    assert.equal(validate.code, 2, 'validate reads the checkpoint as the run will')
    assert.match(validate.stderr, /add skip: \[head_fc\]/)

    const good = writeSpec({...spec(5), train: {...TINY_CNN_SPEC.train, init_from: {path: source, skip: ['head_fc']}}}, dir, 'good.yaml')
    const r = mixture(['run', good, '--out', out])
    assert.equal(r.code, 0, r.stderr)
    const runDir = /run folder: (.*)/.exec(r.stdout)![1].trim()
    const env = JSON.parse(readFileSync(join(runDir, 'env.json'), 'utf8'))
    assert.deepEqual({...env.init_from, sha256: undefined}, {file: join(source, 'best.ckpt'), sha256: undefined, kind: 'best', epoch: 1, loaded: 6, skipped: ['head_fc/kernel', 'head_fc/bias']})
    assert.match(readFileSync(join(runDir, 'run.log'), 'utf8'), /init_from: 6 of the model's 8 weights/)
    // The checkpoint moves away: resuming the fine-tuned run restores its own last.ckpt and does not look for it.
    renameSync(source, `${source}-moved`)
    try {
      const resumed = mixture(['run', '--resume', runDir, '--epochs', '2'])
      assert.equal(resumed.code, 0, resumed.stderr)
      assert.doesNotMatch(resumed.stderr, /init_from/)
      const evaluated = mixture(['eval', runDir])
      assert.equal(evaluated.code, 0, evaluated.stderr)
    } finally {
      renameSync(`${source}-moved`, source)
    }
    assert.deepEqual(readdirSync(join(out, 'tiny')).length, 1)
  })

  it('mixture params --weights lists every weight by name and shape', () => {
    const dir = tempDir('mixture-init-params-')
    const r = mixture(['params', writeSpec(spec(3), dir), '--weights', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const weights = JSON.parse(r.stdout).weights as {name: string; shape: number[]; trainable: boolean}[]
    assert.deepEqual(weights.find((w) => w.name === 'head_fc/bias'), {name: 'head_fc/bias', shape: [3], trainable: true})
    assert.equal(weights.find((w) => w.name.endsWith('moving_mean'))?.trainable, false)
    const text = mixture(['params', writeSpec(spec(3), dir), '--weights'])
    assert.match(text.stdout, /^head_fc\/kernel\s+\[192, 3\]\s+trainable$/m)
  })
})

describe('train.freeze', () => {
  const source = pretrained(3)
  const ckpt = readCheckpoint(join(source, 'best.ckpt'))

  it('a linear probe: init_from + freeze of the backbone trains the head alone; the statistics still follow the batches; resume keeps it', {timeout: 120_000}, () => {
    const dir = tempDir('mixture-freeze-')
    const file = writeSpec({...spec(3), train: {...TINY_CNN_SPEC.train, epochs: 2, init_from: source, freeze: ['block1_*']}}, dir)
    const r = mixture(['run', file, '--out', join(dir, 'results')])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /freeze: 90 of the 669 trainable parameters are frozen \(4 weights: block1_cnn_unit1_conv\/kernel, block1_cnn_unit1_conv\/bias, block1_cnn_unit1_bn\/gamma, block1_cnn_unit1_bn\/beta\); 579 train/)
    const runDir = /run folder: (.*)/.exec(r.stdout)![1].trim()
    const check = (after: ReturnType<typeof readCheckpoint>) => {
      for (const [name, values] of after.weights) {
        const same = [...values].join() === [...ckpt.weights.get(name)!].join()
        if (name.startsWith('block1_') && !name.includes('moving_')) assert.ok(same, `${name} is frozen`)
        else assert.ok(!same, `${name} trained (or, a statistic, followed the batches)`)
      }
      assert.deepEqual(Object.values(after.state).map((g) => g.length), [2, 2], 'Adam state for the two head weights only')
    }
    check(readCheckpoint(join(runDir, 'last.ckpt')))
    const resumed = mixture(['run', '--resume', runDir, '--epochs', '3'])
    assert.equal(resumed.code, 0, resumed.stderr)
    check(readCheckpoint(join(runDir, 'last.ckpt')))
  })

  it('a freeze that names nothing, only statistics, or every trainable weight is refused with the reason (exit 2)', () => {
    const dir = tempDir('mixture-freeze-bad-')
    const cases: [string[], RegExp][] = [
      [['body'], /train\.freeze: "body" names no weight of this model; its layers are /],
      [['*moving_*'], /names only BatchNorm statistics, which are not trained/],
      [['*'], /names every trainable weight of the model: nothing would train/],
    ]
    for (const [freeze, message] of cases) {
      const r = mixture(['validate', writeSpec({...spec(3), train: {...TINY_CNN_SPEC.train, freeze}}, dir)])
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, message)
    }
  })
})
