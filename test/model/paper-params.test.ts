// Every paper row's spec must build to exactly the paper's trainable-parameter count (docs/paper.md tables).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {loadSpec} from '../../src/config/load.js'
import {validateSpec} from '../../src/config/validate.js'
import {buildModel} from '../../src/model/build.js'
import {REPO} from '../helpers.js'

const EXPECTED: Record<string, number> = {
  'cifar10/alternating-1block': 4_719_167,
  'cifar10/alternating-2block': 9_407_604,
  'cifar10/joint-1block': 9_708_095,
  'cifar10/joint-2block': 19_385_460,
  'cifar10/resnet18': 11_689_512,
  'cifar10/vit': 10_791_946,
  'cifar100/alternating-1block': 4_995_737,
  'cifar100/joint-1block': 9_984_665,
  'cifar100/resnet18': 11_689_512,
  'cifar100/vit': 10_884_196,
  'stl10/alternating-1block': 4_719_167,
  'stl10/alternating-2block': 9_407_604,
  'stl10/joint-1block': 9_708_095,
  'stl10/joint-2block': 19_385_460,
  'stl10/resnet18': 11_689_512,
  'stl10/vit': 10_791_946,
  'stl10-perceiver/perceiver-baseline': 1_625_586,
  'stl10-perceiver/perceiver': 301_170,
  'stl10-perceiver/joint-1block': 1_466_518,
  'stl10-perceiver/joint-2block': 2_656_540,
  'stl10-perceiver/alternating-1block': 1_693_278,
  'stl10-perceiver/alternating-2block': 3_110_066,
  'stl10-perceiver/cnn': 480_054,
  'stl10-perceiver/resnet18': 11_689_512,
}

for (const [row, params] of Object.entries(EXPECTED)) {
  test(`paper row ${row} has ${params.toLocaleString('en-US')} trainable parameters`, () => {
    const spec = validateSpec(loadSpec(join(REPO, 'configs', 'paper', `${row}.yaml`)))
    const built = buildModel(spec)
    try {
      assert.equal(built.params, params)
      assert.equal(built.components.reduce((s, c) => s + c.params, 0), params, 'per-component counts add up to the total')
    } finally {
      built.model.dispose()
    }
  })
}

test("ResNet-18 with the CIFAR stem (the CIFAR example) has 11,173,962 parameters, as kuangliu/pytorch-cifar's; the paper's rows keep no stem key", () => {
  const spec = validateSpec(loadSpec(join(REPO, 'configs/examples/cifar10-sgd-cosine.yaml')))
  const built = buildModel(spec)
  built.model.dispose()
  assert.equal(built.params, 11_173_962)
  assert.ok(!('stem' in validateSpec(loadSpec(join(REPO, 'configs/paper/cifar10/resnet18.yaml'))).model), 'no default: a spec without it resolves (and hashes) as before')
})

test('component counts match the building blocks of docs/paper.md', () => {
  const spec = validateSpec(loadSpec(join(REPO, 'configs/paper/cifar10/alternating-1block.yaml')))
  const built = buildModel(spec)
  const by = Object.fromEntries(built.components.map((c) => [c.component, c.params]))
  built.model.dispose()
  assert.equal(by['block1.cnn'], 203_564)
  assert.equal(by['block1.vit'], 13_312 + 4_464_640)
  assert.equal(by['block1.vit_adapter'], 6_921)
  assert.equal(by.head, 30_730)
})

test('joint ViT layer with 4 heads and the shared Perceiver BatchNorm are counted once', () => {
  const spec = validateSpec(loadSpec(join(REPO, 'configs/paper/stl10-perceiver/joint-2block.yaml')))
  const built = buildModel(spec)
  const by = Object.fromEntries(built.components.map((c) => [c.component, c.params]))
  built.model.dispose()
  assert.equal(by.norm, 6, 'one BatchNorm(3) for all branches of both blocks')
})

test('paper specs carry the recipe of their table', () => {
  const vit = validateSpec(loadSpec(join(REPO, 'configs/paper/cifar10/joint-2block.yaml')))
  assert.equal(vit.train.batch_size, 32)
  assert.equal(vit.train.optimizer.lr, 1e-3)
  const optimizer = vit.train.optimizer
  assert.ok(optimizer.type === 'adam')
  assert.equal(optimizer.eps, 1e-8)
  assert.equal(vit.train.optimizer.weight_decay, 1e-4)
  assert.equal(vit.train.epochs, 50)
  assert.deepEqual(vit.data.augment, {hflip: true, brightness: 0.5, hue: 0.25})
  const p = validateSpec(loadSpec(join(REPO, 'configs/paper/stl10-perceiver/alternating-1block.yaml')))
  assert.equal(p.train.batch_size, 16)
  assert.equal(p.train.optimizer.lr, 3e-4)
  assert.equal(p.data.image_size, 96)
  const stl = validateSpec(loadSpec(join(REPO, 'configs/paper/stl10/alternating-1block.yaml')))
  assert.equal(stl.data.image_size, 32)
})
