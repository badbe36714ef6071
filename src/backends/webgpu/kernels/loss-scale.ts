/**
 * The loss scale's arithmetic on WebGPU (ops/loss-scale.ts), reading the per-step tensor [scale,
 * reciprocal] (`LOSS_SCALE_VALUES`), so that a replayed step uses the scale of its own step:
 * `MixtureLossScale`, x × the scale or its reciprocal in one dispatch; and the in-place unscale
 * (`inPlaceUnscale`), one dispatch per gradient that multiplies it by the reciprocal, writes it into
 * the step's variable and sets a flag (an atomic OR) where a value is not finite.
 */
import {tf} from '../../../engine/tf.js'
import {LOSS_SCALE_KERNEL, LOSS_SCALE_VALUES, lossScaleValues, type InPlaceUnscale, type LossScaleAttrs} from '../../../ops/loss-scale.js'
import {float32} from '../programs/elementwise.js'
import {bindingsWgsl, dispatchOn, flatIndexWgsl, flatWorkgroups, ownsData, perStepTensor, runKernel, type WebgpuBackendInternals} from '../runner.js'

const WORKGROUP = 256

function lossScaleWgsl(): string {
  return /* wgsl */ `
struct Params { size : u32, factor : u32, };
${bindingsWgsl(['y'], ['x', 'scales'])}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  ${flatIndexWgsl(WORKGROUP)}
  if (index >= u.size) { return; }
  y[index] = x[index] * scales[u.factor];
}
`
}

export const lossScaleConfig: tf.KernelConfig = {
  kernelName: LOSS_SCALE_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = backend as unknown as WebgpuBackendInternals & tf.KernelBackend
    const x = inputs.x as tf.TensorInfo
    float32(LOSS_SCALE_KERNEL, x)
    const {scale, factor} = attrs as unknown as LossScaleAttrs
    const n = tf.util.sizeFromShape(x.shape)
    return runKernel(b, {
      name: LOSS_SCALE_KERNEL,
      key: 'loss-scale',
      wgsl: lossScaleWgsl,
      workgroups: flatWorkgroups(b, n, WORKGROUP),
      inputs: [x, perStepTensor(b, LOSS_SCALE_VALUES.name, 'float32', lossScaleValues(scale))],
      outputs: [{shape: x.shape}],
      uniforms: [
        {type: 'uint32', data: [n]},
        {type: 'uint32', data: [factor === 'scale' ? 0 : 1]},
      ],
    })[0]
  },
}

function unscaleWgsl(): string {
  return /* wgsl */ `
struct Params { size : u32, };
@group(0) @binding(0) var<storage, read_write> stored : array<f32>;
@group(0) @binding(1) var<storage, read_write> flag : array<atomic<u32>>;
@group(0) @binding(2) var<storage, read> grad : array<f32>;
@group(0) @binding(3) var<storage, read> scales : array<f32>;
@group(0) @binding(4) var<uniform> u : Params;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  ${flatIndexWgsl(WORKGROUP)}
  if (index >= u.size) { return; }
  let v = grad[index] * scales[1];
  stored[index] = v;
  // ±∞ and NaN: every exponent bit set.
  if ((bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u) { atomicOr(&flag[0], 1u); }
}
`
}

/**
 * Every gradient × the reciprocal into its variable, one dispatch each, and the flag (an int32 [1]
 * zeroed by a dispatch of its own, so that a replayed step zeroes it too) as a float32 0 or 1;
 * undefined where a gradient is not float32 or a variable does not own its data.
 */
export const inPlaceUnscale: InPlaceUnscale = (targets, grads, scale) => {
  const b = tf.backend() as unknown as WebgpuBackendInternals & tf.KernelBackend
  if (grads.some((g, i) => g.dtype !== 'float32' || g.size === 0 || g.dataId === targets[i].dataId || !ownsData(b, targets[i]))) return undefined
  const scales = perStepTensor(b, LOSS_SCALE_VALUES.name, 'float32', lossScaleValues(scale))
  return tf.tidy(() => {
    const flag = tf.fill([1], 0, 'int32')
    grads.forEach((g, i) => {
      const spec = {name: 'MixtureUnscale', key: 'unscale', wgsl: unscaleWgsl, workgroups: flatWorkgroups(b, g.size, WORKGROUP), uniforms: [{type: 'uint32' as const, data: [g.size]}]}
      dispatchOn(b, spec, [targets[i], flag, g, scales], 2)
    })
    return tf.reshape(tf.cast(flag, 'float32'), []) as tf.Scalar
  })
}
