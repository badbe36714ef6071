/**
 * The gradient of `Tile` as one reshape and one sum.
 *
 * tfjs-core's own Tile gradient adds up one `slice` per repetition: tiling a (1, 1, C) LayerNorm
 * scale to (B, N, C), as tfjs-layers' LayerNormalization does on every call, costs 2·B·N kernels in
 * the backward pass (32,768 dispatches for one LayerNorm of the ViT at batch 64; 18,432 for the
 * Perceiver's input LayerNorm over 9,216 tokens, enough to crash the WebGPU device). Reading dy as
 * (r0, s0, r1, s1, …) and summing the r axes gives the same result in one reduction.
 * The gradient registry is global, so once registered (`registerTileGradient`) this serves every
 * backend (same arithmetic). No kernel: the op is the gradient itself, against tfjs's sum of slices.
 */
import {tf} from '../engine/tf.js'
import type {OpContract} from './contract.js'

/** dx for x of shape `shape` tiled by `reps`, from dy of shape shape·reps. */
export function tileGrad(dy: tf.Tensor, shape: number[], reps: number[]): tf.Tensor {
  return tf.tidy(() => {
    if (reps.every((r) => r === 1)) return dy.clone()
    const split: number[] = []
    const axes: number[] = []
    shape.forEach((s, i) => {
      split.push(reps[i], s)
      axes.push(2 * i)
    })
    return tf.reshape(tf.sum(tf.reshape(dy, split), axes), shape)
  })
}

let registered = false

/** Tile's gradient through `tileGrad`, for every backend (once per process). */
export function registerTileGradient(): void {
  if (registered) return
  registered = true
  tf.registerGradient({
    kernelName: 'Tile',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved
      const {reps} = attrs as unknown as {reps: number[]}
      return {x: () => tileGrad(dy as tf.Tensor, x.shape, reps)}
    },
  })
}

/** tfjs-core's own Tile gradient: one slice per repetition, added up. */
export function tileGradComposite(dy: tf.Tensor, shape: number[], reps: number[]): tf.Tensor {
  return tf.tidy(() => {
    let dx = tf.zeros(shape)
    const starts = reps.map(() => 0)
    const visit = (axis: number): void => {
      if (axis === reps.length) {
        dx = tf.add(dx, tf.slice(dy, starts.map((r, i) => r * shape[i]), shape))
        return
      }
      for (let r = 0; r < reps[axis]; r++) {
        starts[axis] = r
        visit(axis + 1)
      }
    }
    visit(0)
    return dx
  })
}

export const tileGradOp: OpContract = {
  name: 'tile-grad',
  summary: "Tile's gradient as one reshape and one sum (every backend)",
  kernels: [],
  fusedHere: () => true,
  example: () => [tf.randomUniform([2 * 3, 4, 3 * 5], -1, 1, 'float32', 121)],
  fused: ([dy]) => [tileGrad(dy, [3, 4, 5], [2, 1, 3])],
  composite: ([dy]) => [tileGradComposite(dy, [3, 4, 5], [2, 1, 3])],
  tolerance: 1e-6,
}
