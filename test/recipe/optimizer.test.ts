// Optimizers as registry entries: the keys the registry gives every one (lr; weight_decay_exclude
// beside a weight_decay), what an entry may not declare or leave out, and an optimizer nobody
// registered refused as bad input.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {exitCodeFor} from '../../src/base-command.js'
import {chooseOptimizer, optimizerTitle} from '../../src/recipe/optimizer.js'
import {lookup, registerOptimizer} from '../../src/registry/registry.js'
import {SGD} from '../../src/ops/sgd.js'
import '../helpers.js'

const entry = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name: 'test_opt',
  summary: 'x',
  schema: {type: 'object', additionalProperties: false, properties},
  op: SGD,
  attrs: () => ({}),
  ...extra,
})

test('every optimizer takes lr, and weight_decay_exclude where it has a weight_decay: the registry adds them', () => {
  assert.deepEqual(Object.keys(lookup('optimizer', 'sgd')!.schema.properties as object), ['lr', 'weight_decay', 'momentum', 'dampening', 'nesterov', 'weight_decay_exclude'])
  assert.deepEqual(Object.keys(lookup('optimizer', 'adam')!.schema.properties as object), ['lr', 'weight_decay', 'betas', 'eps', 'weight_decay_exclude'])
  registerOptimizer({...entry({alpha: {type: 'number', default: 1}}), name: 'test_no_decay', stateGroups: ['test_buffer']})
  const plain = lookup('optimizer', 'test_no_decay')!
  assert.deepEqual(Object.keys(plain.schema.properties as object), ['lr', 'alpha'])
  assert.equal(plain.title, 'test_no_decay', 'the title defaults to the name')
  registerOptimizer({...entry({}), name: 'test_default_groups'})
  assert.deepEqual(lookup('optimizer', 'test_default_groups')!.stateGroups, ['test_default_groups_momentum'], "a state group defaults to <optimizer>_<the op's state name>")
  assert.deepEqual([optimizerTitle('adamw'), optimizerTitle('sgd'), optimizerTitle('not_loaded')], ['AdamW', 'SGD', 'not_loaded'])
})

test('an optimizer entry cannot declare the shared keys, and must bring an op, its state groups and attrs', () => {
  const refused = (def: Record<string, unknown>, message: RegExp) => assert.throws(() => registerOptimizer(def as never), message)
  refused(entry({lr: {type: 'number'}}), /optimizer "test_opt": its schema names lr, which the registry provides/)
  refused(entry({weight_decay_exclude: {type: 'array'}, type: {const: 'x'}}), /its schema names weight_decay_exclude and type/)
  refused(entry({}, {op: {name: 'x', kernel: 'X', state: ['s']}}), /op must be \{name, kernel, state: \[names of the state tensors\], composite/)
  refused(entry({}, {stateGroups: ['a', 'b']}), /stateGroups names 2 groups for the op's 1 state tensors/)
  refused(entry({}, {stateGroups: ['weight']}), /its state group "weight" is not a lower-case snake_case name other than "weight", "ema" and the other groups/)
  refused(entry({}, {stateGroups: ['ema']}), /its state group "ema" is not a lower-case snake_case name other than "weight", "ema" and the other groups/)
  refused({...entry({}), op: {...SGD, state: ['a', 'b']}, stateGroups: ['g', 'g']}, /its state group "g" is not .* other than "weight", "ema" and the other groups/)
  refused(entry({}, {attrs: undefined}), /attrs\(params, \{lr, step, momentum\}\) must give the op's attributes/)
})

test('an optimizer nobody registered is bad input (exit 2) naming those that are', () => {
  assert.throws(
    () => chooseOptimizer({type: 'lamb', lr: 0.1}),
    (e: unknown) => exitCodeFor(e) === 2 && /train\.optimizer: unknown optimizer "lamb"; registered: adam, adamw, sgd, .*a plugin file listed under plugins: can add more/.test((e as Error).message),
  )
})
