/**
 * Which products and convolutions the WebGPU 128×128-tile kernel takes, and how it splits k
 * (`gemmPlan`, a pure function: runs without a GPU). Shapes from the paper rows at their batch sizes.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {gemmPlan, minWorkgroups} from '../../../src/backends/webgpu/programs/gemm-plan.js'

const TOKENS = 64 * 257

describe('gemmPlan: the product kernel\'s routing and k splits', () => {
  it('takes the ViT feed-forward products at batch 64; splits k for the weight gradient only', () => {
    const forward = gemmPlan({M: TOKENS, N: 2048, K: 1024, batch: 1}, false, false, false)
    assert.deepEqual(forward, {tileN: 128, splits: 1, kPerSplit: 1024, workgroups: [16, 129, 1]})
    const inputGrad = gemmPlan({M: TOKENS, N: 1024, K: 2048, batch: 1}, false, true, true)
    assert.equal(inputGrad?.splits, 1, 'a tall output fills the GPU without a split')
    const weightGrad = gemmPlan({M: 1024, N: 2048, K: TOKENS, batch: 1}, true, false, true)
    assert.ok(weightGrad && weightGrad.splits === 4, JSON.stringify(weightGrad))
    assert.ok(weightGrad.kPerSplit % 16 === 0 && weightGrad.kPerSplit * weightGrad.splits >= TOKENS && weightGrad.kPerSplit * (weightGrad.splits - 1) < TOKENS)
  })

  it('splits k of a small output with a long k until it has the workgroups; leaves too small ones to tfjs', () => {
    // ResNet-18's last stage at batch 64: 64 pixels × 512 channels, k = 3·3·512
    const late = gemmPlan({M: 64, N: 512, K: 4608, batch: 1}, false, false, true)
    assert.ok(late && late.splits > 1, JSON.stringify(late))
    assert.ok(late.workgroups[0] * late.workgroups[1] * late.workgroups[2] >= minWorkgroups())
    // the same convolution with a bias to add may not be split: too few workgroups
    assert.equal(gemmPlan({M: 64, N: 512, K: 4608, batch: 1}, false, false, false), undefined)
    // 256 × 256 outputs over k = 2,304: at most 72 workgroups even split
    assert.equal(gemmPlan({M: 256, N: 256, K: 2304, batch: 1}, false, false, true), undefined)
  })

  it('uses 128 × 64 tiles for outputs at most 64 wide', () => {
    const narrow = gemmPlan({M: 4096, N: 64, K: 576, batch: 1}, false, false, true)
    assert.equal(narrow?.tileN, 64)
    assert.equal(narrow?.workgroups[0], 1)
    assert.equal(gemmPlan({M: 147456, N: 128, K: 1152, batch: 1}, false, false, false)?.tileN, 128)
  })

  it('refuses what the kernel cannot read as vec4, outputs under 64 wide, and small products', () => {
    assert.equal(gemmPlan({M: 147456, N: 32, K: 1152, batch: 1}, false, false, true), undefined, 'N < 64')
    assert.equal(gemmPlan({M: 4096, N: 10, K: 1024, batch: 1}, false, false, false), undefined, 'N = 10')
    assert.equal(gemmPlan({M: 4096, N: 256, K: 258, batch: 1}, false, false, false), undefined, 'contiguous k not a multiple of 4')
    assert.equal(gemmPlan({M: 258, N: 256, K: 4096, batch: 1}, true, false, false), undefined, 'transposed A: contiguous m not a multiple of 4')
    assert.ok(gemmPlan({M: 16449, N: 256, K: 256, batch: 1}, false, false, false), 'any number of rows where they are not contiguous')
    assert.equal(gemmPlan({M: 128, N: 128, K: 128, batch: 1}, false, false, true), undefined, 'under 2^24 multiply-adds')
  })

  it('MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS lowers the workgroup floor (tests), and a bad value keeps the default', () => {
    const shape = {M: 256, N: 256, K: 2304, batch: 1}
    const before = process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS
    try {
      process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS = '1'
      assert.ok(gemmPlan(shape, false, false, true))
      assert.ok(gemmPlan(shape, false, false, false), 'unsplit: 4 workgroups')
      process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS = 'many'
      assert.equal(minWorkgroups(), 128)
      assert.equal(gemmPlan(shape, false, false, true), undefined)
    } finally {
      if (before === undefined) delete process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS
      else process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS = before
    }
  })
})
