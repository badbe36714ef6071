/**
 * The gradient of `Tile` as one reshape and one sum.
 *
 * tfjs-core's own Tile gradient adds up one `slice` per repetition: tiling a (1, 1, C) LayerNorm
 * scale to (B, N, C), as tfjs-layers' LayerNormalization does on every call, costs 2·B·N kernels in
 * the backward pass (32,768 dispatches for one LayerNorm of the ViT at batch 64; 18,432 for the
 * Perceiver's input LayerNorm over 9,216 tokens, enough to crash the WebGPU device). Reading dy as
 * (r0, s0, r1, s1, …) and summing the r axes gives the same result in one reduction.
 * The gradient registry is global, so once installed this serves every backend (same arithmetic).
 */
import {tf} from '../tf.js'

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

let installed = false

export function installTileGradient(): void {
  if (installed) return
  installed = true
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
