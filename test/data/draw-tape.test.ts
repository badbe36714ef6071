// The draw tape: recorded draws replay as the generator's own numbers, and a transform that draws
// more or fewer numbers than it recorded is caught; the geometric transforms replay exactly.
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {DrawMismatchError, DrawRecorder, DrawReplay, recordDraws} from '../../src/data/draw-tape.js'
import {Rng} from '../../src/data/random.js'
import type {ImageTransform} from '../../src/registry/registry.js'
import {augmentFromConfig} from '../../src/data/index.js'
import '../../src/builtins.js'

test('recorded floats and integers replay as the generator gave them, image by image', () => {
  const recorder = new DrawRecorder(new Rng(9, 1))
  const reference = new Rng(9, 1)
  const got: number[] = []
  const step: ImageTransform = {
    draw: (size, rng) => {
      for (let i = 0; i < size; i++) got.push(rng.float(), rng.int(7))
    },
    apply: () => undefined,
  }
  const draws = recordDraws([step, step], 3, 2, recorder)
  assert.equal(draws.tape.length, 3 * 2 * 2 * 2, 'two transforms × two images pixels × (float, int) per image')
  assert.deepEqual([...draws.starts], [0, 8, 16, 24])
  const expected = got.map((_, i) => (i % 2 === 0 ? reference.float() : reference.int(7)))
  assert.deepEqual(got, expected, 'the recorder passes the generator through')
  const replay = new DrawReplay(draws)
  replay.image(1)
  const again = Array.from({length: 8}, (_, i) => (i % 2 === 0 ? replay.float() : replay.int(7)))
  assert.deepEqual(again, expected.slice(8, 16))
  replay.finish()
  assert.equal(recorder.count, 0, 'take() starts the next batch afresh')
})

test('a transform that draws more or fewer numbers than its draw() recorded is an error', () => {
  const draws = recordDraws([{draw: (_s, rng) => void rng.float(), apply: () => undefined}], 1, 4, new DrawRecorder(new Rng(1)))
  const replay = new DrawReplay(draws)
  replay.image(0)
  replay.float()
  assert.throws(() => replay.float(), DrawMismatchError)
  replay.image(0)
  assert.throws(() => replay.finish(), (e: unknown) => e instanceof DrawMismatchError && /fewer numbers/.test((e as Error).message))
})

test('the geometric transforms and random_grayscale replay from the tape to the images the generator gives them', () => {
  const specs = [
    {type: 'random_resized_crop', scale: [0.3, 1], ratio: [0.5, 2]},
    {type: 'random_resized_crop', scale: [0.9, 1], ratio: [0.25, 4], interpolation: 'nearest'},
    {type: 'random_rotation', degrees: 40, interpolation: 'bilinear', fill: [255, 128, 0]},
    'vflip',
    {type: 'random_grayscale', p: 0.5},
  ]
  const pipeline = augmentFromConfig({augment: specs as never})
  assert.ok(pipeline)
  const size = 7
  const count = 30
  const source = new Rng(4)
  const images = Float32Array.from({length: count * size * size * 3}, () => source.float())
  const direct = images.slice()
  const rng = new Rng(5, 2)
  for (let k = 0; k < count; k++) for (const step of pipeline.steps) step.apply(direct, k * size * size * 3, size, rng)
  const draws = recordDraws(pipeline.steps, count, size, new DrawRecorder(new Rng(5, 2)))
  const replay = new DrawReplay(draws)
  const replayed = images.slice()
  for (let k = 0; k < count; k++) {
    replay.image(k)
    for (const step of pipeline.steps) step.apply(replayed, k * size * size * 3, size, replay)
    replay.finish()
  }
  assert.deepEqual(replayed, direct)
  assert.notDeepEqual(direct, images)
})
