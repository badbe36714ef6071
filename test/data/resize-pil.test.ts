// `resize: pil_bilinear` (the default) is Pillow's Image.resize(BILINEAR), as torchvision's Resize runs it
// on PIL images: test/fixtures/torch/resize.json (bench/torch/resize_fixture.py, Debian's python3-pil)
// holds Pillow's outputs for real Fashion-MNIST images and random 96×96 / 32×32 RGB images.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {gunzipSync} from 'node:zlib'
import {resizeBilinear, resizePil} from '../../src/data/resize.js'
import {REPO, values} from '../helpers.js'
import {skipUnless} from '../require.js'

interface Fixture {
  pillow_version: string
  fashion_mnist: {count: number; size: number; channels: number; input: string; outputs: Record<string, string>; full: {count: number; size: number; sha256: string}}
  random: {seed: number; count: number; size: number; channels: number; input_sha256: string; outputs: Record<string, string>}[]
}

const FIXTURE: Fixture = JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'torch', 'resize.json'), 'utf8'))
const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'))
const sha256 = (a: Uint8Array) => createHash('sha256').update(a).digest('hex')
const FASHION_DIR = '/usr/share/datasets/fashion-mnist'

/** The random images of the fixture: bytes min(255, floor((v + 1)·128)) of `values`. */
function randomImages(seed: number, count: number, size: number): Uint8Array {
  return Uint8Array.from(values(count * size * size * 3, seed), (v) => Math.min(255, Math.floor((v + 1) * 128)))
}

/** Largest |difference| and how many values differ. */
function compare(ours: Uint8Array, pillow: Uint8Array): {max: number; differ: number} {
  assert.equal(ours.length, pillow.length, 'length')
  let max = 0
  let differ = 0
  for (let i = 0; i < ours.length; i++) {
    const d = Math.abs(ours[i] - pillow[i])
    if (d > 0) differ++
    if (d > max) max = d
  }
  return {max, differ}
}

function assertSame(ours: Uint8Array, pillow: Uint8Array, what: string): void {
  const {max, differ} = compare(ours, pillow)
  assert.equal(differ, 0, `${what}: ${differ} of ${ours.length} values differ from Pillow ${FIXTURE.pillow_version}, by up to ${max}/255`)
}

test('Fashion-MNIST images: 28→16, 28→14 and 28→32 equal Pillow\'s BILINEAR', () => {
  const f = FIXTURE.fashion_mnist
  const input = bytes(f.input)
  for (const [size, out] of Object.entries(f.outputs)) assertSame(resizePil(input, f.count, f.size, Number(size), f.channels), bytes(out), `28→${size}`)
})

test('random RGB images: 96→32, 96→24, 96→40 (antialiased) and 32→48 (upscaling) equal Pillow\'s BILINEAR', () => {
  for (const r of FIXTURE.random) {
    const input = randomImages(r.seed, r.count, r.size)
    assert.equal(sha256(input), r.input_sha256, 'the random images are the generator\'s')
    for (const [size, out] of Object.entries(r.outputs)) assertSame(resizePil(input, r.count, r.size, Number(size), r.channels), bytes(out), `${r.size}→${size}`)
  }
})

const FASHION_TEST = join(FASHION_DIR, 't10k-images-idx3-ubyte.gz')

test('the whole Fashion-MNIST test split at 16×16 equals Pillow\'s (sha256)', {skip: skipUnless('fashion_mnist', existsSync(FASHION_TEST) ? false : `${FASHION_TEST} is absent (the stored images above still run)`)}, () => {
  const file = FASHION_TEST
  const raw = gunzipSync(readFileSync(file))
  const {count, size, sha256: expected} = FIXTURE.fashion_mnist.full
  assert.equal(raw.readUInt32BE(4), count)
  assert.equal(sha256(resizePil(new Uint8Array(raw.buffer, raw.byteOffset + 16, count * 28 * 28), count, 28, size, 1)), expected)
})

test('upscaling stays bilinear: Pillow\'s upscale is within 1/255 of the 4-tap bilinear', () => {
  const r = FIXTURE.random.find((x) => Number(Object.keys(x.outputs)[0]) > x.size)!
  const input = randomImages(r.seed, r.count, r.size)
  for (const size of Object.keys(r.outputs).map(Number)) {
    const {max} = compare(resizePil(input, r.count, r.size, size, r.channels), resizeBilinear(input, r.count, r.size, size, r.channels))
    assert.ok(max <= 1, `${r.size}→${size}: differs by ${max}/255`)
  }
})

test('downscaling: the 4-tap bilinear (resize: bilinear) is not what Pillow gives at 96→32', () => {
  const r = FIXTURE.random.find((x) => x.size === 96)!
  const input = randomImages(r.seed, r.count, r.size)
  const {max, differ} = compare(resizeBilinear(input, r.count, 96, 32, 3), bytes(r.outputs['32']))
  // random pixels averaged over ~6 taps per axis land near the middle; a subsample keeps their spread
  assert.ok(differ > 0.9 * r.count * 32 * 32 * 3 && max > 64, `differ ${differ}, max ${max}`)
})
