// The draw tape: recorded draws replay as the generator's own numbers, and a transform that draws
// more or fewer numbers than it recorded is caught.
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {DrawMismatchError, DrawRecorder, DrawReplay, recordDraws} from '../../src/data/draw-tape.js'
import {Rng} from '../../src/data/random.js'
import type {ImageTransform} from '../../src/registry/registry.js'

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
