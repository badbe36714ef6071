/**
 * `MixtureLossScale` on WebGPU (ops/loss-scale.ts): x × the loss scale or its reciprocal in one
 * dispatch, read from the per-step tensor [scale, reciprocal] (`LOSS_SCALE_VALUES`), so that a
 * replayed step multiplies by the scale of its own step.
 */
import {tf} from '../../../engine/tf.js'
import {LOSS_SCALE_KERNEL, LOSS_SCALE_VALUES, lossScaleValues, type LossScaleAttrs} from '../../../ops/loss-scale.js'
import {float32} from '../programs/elementwise.js'
import {bindingsWgsl, flatIndexWgsl, flatWorkgroups, perStepTensor, runKernel, type WebgpuBackendInternals} from '../runner.js'

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
