// Validation says each fault once, in the words of what its place expects: a non-finite number as
// such only where a number belongs, and a dataset's own checks only of values stage 1 let through.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {loadSpec} from '../../src/config/load.js'
import {validateSpec} from '../../src/config/validate.js'
import {resolveObject, specProblems, tempDir} from '../helpers.js'

const base = {name: 'x', data: {dataset: 'synthetic', image_size: 8}, model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]}}
const FINITE = /must be a finite number/

test("a non-finite number where a name, a choice or a mapping belongs gets the schema's own words", () => {
  for (const [set, path, message] of [
    ['name=.inf', 'name', /^must be string \(got Infinity\)/],
    ['engine=.nan', 'engine', /^must be object \(got NaN\)/],
    ['data.dataset=.nan', 'data.dataset', /^must be string \(got NaN\)/],
    ['model.init=.inf', 'model.init', /^must be one of "torch", "tfjs" \(got Infinity\)/],
    ['model.components[0]=.inf', 'model.components[0]', /must be object|must be a mapping/],
    ['train.optimizer.type=-.inf', 'train.optimizer.type', /^must be string/],
  ] as const) {
    const problems = specProblems(() => resolveObject(base, [set]))
    assert.ok(problems.some((p) => p.path === path && message.test(p.message)), `${set}: ${JSON.stringify(problems)}`)
    assert.ok(!problems.some((p) => FINITE.test(p.message)), `${set}: ${JSON.stringify(problems)}`)
  }
})

test('a non-finite number under a key that does not exist is an unknown key, not a number to fix', () => {
  for (const [set, path] of [['colour=.inf', 'colour'], ['model.components[0].dim=.nan', 'model.components[0].dim'], ['colour={a: .inf}', 'colour']]) {
    const problems = specProblems(() => resolveObject(base, [set]))
    assert.deepEqual(problems.map((p) => p.path), [path], set)
    assert.match(problems[0].message, /^unknown key/, set)
  }
})

test('where a number belongs, a non-finite one is said to be so, once, not again by the bounds it breaks', () => {
  for (const [set, path] of [['seed=.inf', 'seed'], ['train.epochs=.nan', 'train.epochs'], ['train.optimizer.lr=.nan', 'train.optimizer.lr'], ['data.image_size=-.inf', 'data.image_size']]) {
    const problems = specProblems(() => resolveObject(base, [set]))
    assert.equal(problems.length, 1, `${set}: ${JSON.stringify(problems)}`)
    assert.equal(problems[0].path, path)
    assert.match(problems[0].message, FINITE)
  }
})

test("a dataset's own check does not repeat a shared data key that stage 1 refused, at another line", () => {
  const problems = specProblems(() => resolveObject({...base, data: {dataset: 'cifar100', image_size: 32, label_mode: {a: 1}}}))
  assert.equal(problems.length, 1, JSON.stringify(problems))
  assert.equal(problems[0].path, 'data.label_mode')
  assert.match(problems[0].message, /must be one of "fine", "coarse"/)
  // A value stage 1 lets through still meets the dataset's own check.
  assert.match(specProblems(() => resolveObject({...base, data: {dataset: 'cifar10', image_size: 32, label_mode: 'coarse'}}))[0].message, /coarse applies to cifar100 only/)
})

test('problems are listed in the order a reader meets them: the base file, then the spec, each by line, then the --set overrides', () => {
  const dir = tempDir()
  // Stage by stage (schema, components, recipe) these come out in another order than their lines.
  writeFileSync(join(dir, 'base.yaml'), 'name: x\ndata: {dataset: synthetic, image_size: 8}\nmodel:\n  type: mixture\n  components: [{type: cnn, channels: [4, 3], depthh: 2}]\ntrain: {epochs: 0}\n')
  writeFileSync(join(dir, 'child.yaml'), 'extends: base.yaml\ntrain:\n  optimizer: {lr: -1}\nseed: x\n')
  const problems = specProblems(() => validateSpec(loadSpec(join(dir, 'child.yaml'), ['train.batch_size=0', 'data.image_size=0'])))
  const places = problems.map((p) => `${p.origin?.file.replace(/.*\//, '')}:${p.origin?.line ?? ''} ${p.path}`)
  assert.deepEqual(places, ['base.yaml:5 model.components[0].depthh', 'base.yaml:6 train.epochs', 'child.yaml:3 train.optimizer.lr', 'child.yaml:4 seed', '--set train.batch_size=0: train.batch_size', '--set data.image_size=0: data.image_size'])
  // The --set problems in the order of the flags, whichever check found them first.
  const flipped = specProblems(() => validateSpec(loadSpec(join(dir, 'child.yaml'), ['data.image_size=0', 'train.batch_size=0'])))
  assert.deepEqual(flipped.slice(-2).map((p) => p.path), ['data.image_size', 'train.batch_size'])
})
