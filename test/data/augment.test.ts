import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {augmentImage, hueShiftInto, identityJitter, resolveAugment, sampleJitter, type ImageJitter} from '../../src/data/augment.js'
import {augmentFromConfig, DataError} from '../../src/data/index.js'
import {Rng} from '../../src/data/random.js'
import '../../src/builtins.js'

function close(actual: Float32Array | number[], expected: number[], eps = 1e-5): void {
  assert.equal(actual.length, expected.length)
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) <= eps, `[${i}] ${actual[i]} ≠ ${expected[i]} (got ${[...actual].join(', ')})`)
}

function hue(r: number, g: number, b: number, shift: number): number[] {
  const out = [0, 0, 0]
  hueShiftInto(out, 0, r, g, b, shift)
  return out
}

/** One pixel image of uint8 values through augmentImage. */
function pixel(rgb: number[], j: Partial<ImageJitter>): Float32Array {
  const dst = new Float32Array(3)
  augmentImage(Uint8Array.from(rgb), 0, dst, 0, 1, {...identityJitter(), ...j})
  return dst
}

describe('hue shift (torchvision rgb→hsv, h = (h + shift) mod 1, hsv→rgb)', () => {
  it('matches hand-computed values', () => {
    // pure red +1/3 turn → pure green; -1/3 → pure blue
    close(hue(1, 0, 0, 1 / 3), [0, 1, 0])
    close(hue(1, 0, 0, -1 / 3), [0, 0, 1])
    // (0.8, 0.4, 0.2): V 0.8, S 0.75, H 1/18; H − 0.25 → 0.80556 (sector 4, f 5/6) → (t, p, v) = (0.7, 0.2, 0.8)
    close(hue(0.8, 0.4, 0.2, -0.25), [0.7, 0.2, 0.8])
    // wrap-around above 1: H 1/18 + 0.25 = 0.30556 (sector 1, f 5/6) → (q, v, p) = (0.3, 0.8, 0.2)
    close(hue(0.8, 0.4, 0.2, 0.25), [0.3, 0.8, 0.2])
  })
  it('matches Python colorsys on other colours', () => {
    close(hue(0.9, 0.3, 0.5, 0.13), [0.9, 0.568, 0.3])
    close(hue(0.1, 0.6, 0.2, -0.2), [0.6, 0.6, 0.1])
    close(hue(0.25, 0.35, 0.95, 0.25), [0.95, 0.25, 0.7])
  })
  it('leaves grey unchanged and keeps max and min', () => {
    close(hue(0.4, 0.4, 0.4, 0.2), [0.4, 0.4, 0.4])
    const rng = new Rng(3)
    for (let k = 0; k < 200; k++) {
      const c = [rng.float(), rng.float(), rng.float()]
      const o = hue(c[0], c[1], c[2], rng.uniform(-0.5, 0.5))
      assert.ok(Math.abs(Math.max(...o) - Math.max(...c)) < 1e-12)
      assert.ok(Math.abs(Math.min(...o) - Math.min(...c)) < 1e-12)
    }
  })
  it('a shift of a whole turn is the identity', () => {
    close(hue(0.9, 0.3, 0.5, 1), [0.9, 0.3, 0.5], 1e-9)
  })
})

describe('augmentImage', () => {
  it('scales to [0, 1] without normalization', () => {
    close(pixel([0, 51, 255], {}), [0, 0.2, 1])
  })
  it('multiplies brightness and clamps at 1', () => {
    close(pixel([204, 102, 51], {brightness: 1.5}), [1, 0.6, 0.3])
    close(pixel([204, 102, 51], {brightness: 0.5}), [0.4, 0.2, 0.1])
  })
  it('applies brightness and hue in the drawn order', () => {
    // brightness first: (1, 0.6, 0.3) → H = 1/14, S = 0.7; H − 0.25 → sector 4, f 13/14 → (0.95, 0.3, 1)
    close(pixel([204, 102, 51], {brightness: 1.5, hue: -0.25, hueFirst: false}), [0.95, 0.3, 1])
    // hue first: (0.7, 0.2, 0.8) × 1.5 → (1, 0.3, 1)
    close(pixel([204, 102, 51], {brightness: 1.5, hue: -0.25, hueFirst: true}), [1, 0.3, 1])
  })
  it('agrees with hueShiftInto + brightness on random pixels, both orders', () => {
    const rng = new Rng(11)
    for (let k = 0; k < 500; k++) {
      const rgb = [rng.int(256), rng.int(256), rng.int(256)]
      const j = {brightness: rng.uniform(0.5, 1.5), hue: rng.uniform(-0.25, 0.25), hueFirst: rng.bernoulli(0.5)}
      let c = rgb.map((v) => v / 255)
      const bright = (v: number[]) => v.map((x) => Math.min(1, x * j.brightness))
      if (!j.hueFirst) c = bright(c)
      c = hue(c[0], c[1], c[2], j.hue)
      if (j.hueFirst) c = bright(c)
      close(pixel(rgb, j), c, 1e-6)
    }
  })
  it('flips horizontally', () => {
    // 2×2 image, pixels a b / c d → b a / d c
    const src = Uint8Array.from([10, 11, 12, 20, 21, 22, 30, 31, 32, 40, 41, 42])
    const dst = new Float32Array(12)
    augmentImage(src, 0, dst, 0, 2, {...identityJitter(), flip: true})
    close(dst, [20, 21, 22, 10, 11, 12, 40, 41, 42, 30, 31, 32].map((v) => v / 255))
  })
})

describe('augmentation parameters', () => {
  it('defaults to the paper recipe and can be switched off', () => {
    assert.deepEqual(resolveAugment(undefined), {hflip: true, brightness: 0.5, hue: 0.25})
    assert.deepEqual(resolveAugment({hue: 0.1}), {hflip: true, brightness: 0.5, hue: 0.1})
    assert.equal(resolveAugment(false), false)
    assert.equal(resolveAugment({hflip: false, brightness: 0, hue: 0}), false)
    assert.throws(() => augmentFromConfig({augment: {hue: 0.7}}), (e: unknown) => e instanceof DataError && /hue must be in \[0, 0\.5\]/.test(e.message))
  })
  it('draws flips with p 0.5, brightness in [0.5, 1.5] and hue in [-0.25, 0.25], both orders', () => {
    const rng = new Rng(42)
    const j = identityJitter()
    let flips = 0
    let hueFirst = 0
    let bMin = 9
    let bMax = -9
    let hMin = 9
    let hMax = -9
    const n = 20000
    for (let i = 0; i < n; i++) {
      sampleJitter(rng, {hflip: true, brightness: 0.5, hue: 0.25}, j)
      flips += j.flip ? 1 : 0
      hueFirst += j.hueFirst ? 1 : 0
      bMin = Math.min(bMin, j.brightness)
      bMax = Math.max(bMax, j.brightness)
      hMin = Math.min(hMin, j.hue)
      hMax = Math.max(hMax, j.hue)
    }
    assert.ok(Math.abs(flips / n - 0.5) < 0.02, `flip rate ${flips / n}`)
    assert.ok(Math.abs(hueFirst / n - 0.5) < 0.02)
    assert.ok(bMin >= 0.5 && bMin < 0.51 && bMax < 1.5 && bMax > 1.49, `${bMin} ${bMax}`)
    assert.ok(hMin >= -0.25 && hMin < -0.24 && hMax < 0.25 && hMax > 0.24, `${hMin} ${hMax}`)
    sampleJitter(rng, {hflip: false, brightness: 0, hue: 0}, j)
    assert.deepEqual([j.flip, j.brightness, j.hue], [false, 1, 0])
  })
})
